//! The `#[llm_traced]` attribute. Use it through the `llm-traced` crate, whose
//! documentation describes it in full.

#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

use proc_macro::TokenStream;

mod attr;
mod expand;

/// Instruments a function that calls a large language model.
///
/// See the `llm-traced` crate for the arguments, what is recorded and the
/// environment variables that switch outputs on.
#[proc_macro_attribute]
pub fn llm_traced(args: TokenStream, item: TokenStream) -> TokenStream {
    let item2: proc_macro2::TokenStream = item.clone().into();
    let args = match syn::parse::<attr::Args>(args) {
        Ok(args) => args,
        Err(e) => return expand::with_error(e, item2).into(),
    };
    let func = match syn::parse::<expand::MaybeItemFn>(item) {
        Ok(func) => func,
        Err(e) => return expand::with_error(e, item2).into(),
    };
    match expand::expand(args, func) {
        Ok(tokens) => tokens.into(),
        Err(e) => expand::with_error(e, item2).into(),
    }
}
