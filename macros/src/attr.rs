//! The arguments of `#[llm_traced(...)]` and their parsing.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Lit, LitStr, Path, Token};

pub(crate) mod kw {
    syn::custom_keyword!(name);
    syn::custom_keyword!(model);
    syn::custom_keyword!(provider);
    syn::custom_keyword!(operation);
    syn::custom_keyword!(messages);
    syn::custom_keyword!(request);
    syn::custom_keyword!(kind);
    syn::custom_keyword!(stream);
    syn::custom_keyword!(audit);
    syn::custom_keyword!(tool_call_id);
    syn::custom_keyword!(arguments);
}

/// The values `kind` accepts: a model call, or a step around model calls.
pub(crate) const KINDS: &[&str] = &["llm", "chain", "agent", "tool", "retrieval"];

/// The values of OpenTelemetry's `gen_ai.operation.name` that `operation` accepts.
pub(crate) const OPERATIONS: &[&str] = &[
    "chat",
    "text_completion",
    "generate_content",
    "embeddings",
    "create_agent",
    "invoke_agent",
    "execute_tool",
];

/// Everything the attribute was given. Each field is `None` when not given.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) name: Option<LitStr>,
    pub(crate) model: Option<Expr>,
    pub(crate) provider: Option<LitStr>,
    pub(crate) operation: Option<LitStr>,
    pub(crate) messages: Option<Expr>,
    /// `request = …`: the whole request, saved as `request`.
    pub(crate) request: Option<Expr>,
    pub(crate) krate: Option<Path>,
    pub(crate) kind: Option<LitStr>,
    /// `stream`: the function returns a stream of chunks.
    pub(crate) stream: Option<kw::stream>,
    /// `audit`: write audit-log entries for each call.
    pub(crate) audit: Option<kw::audit>,
    /// `tool_call_id = …`: a tool step's call id (`Display`).
    pub(crate) tool_call_id: Option<Expr>,
    /// `arguments = …`: a tool step's arguments (`Serialize`).
    pub(crate) arguments: Option<Expr>,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Args::default();
        while !input.is_empty() {
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::name) {
                let key = input.parse::<kw::name>()?;
                once(&args.name, key.span, "name")?;
                args.name = Some(string_value(input, "name", "name = \"summarise\"")?);
            } else if lookahead.peek(kw::model) {
                let key = input.parse::<kw::model>()?;
                once(&args.model, key.span, "model")?;
                input.parse::<Token![=]>()?;
                args.model = Some(input.parse()?);
            } else if lookahead.peek(kw::provider) {
                let key = input.parse::<kw::provider>()?;
                once(&args.provider, key.span, "provider")?;
                let value = string_value(input, "provider", "provider = \"openai\"")?;
                if value.value().trim().is_empty() {
                    return Err(syn::Error::new(
                        value.span(),
                        "`provider` must not be empty",
                    ));
                }
                args.provider = Some(value);
            } else if lookahead.peek(kw::operation) {
                let key = input.parse::<kw::operation>()?;
                once(&args.operation, key.span, "operation")?;
                let value = string_value(input, "operation", "operation = \"chat\"")?;
                if !OPERATIONS.contains(&value.value().as_str()) {
                    return Err(syn::Error::new(
                        value.span(),
                        format!(
                            "unknown operation {:?}: expected one of {}",
                            value.value(),
                            OPERATIONS.join(", ")
                        ),
                    ));
                }
                args.operation = Some(value);
            } else if lookahead.peek(kw::messages) {
                let key = input.parse::<kw::messages>()?;
                once(&args.messages, key.span, "messages")?;
                input.parse::<Token![=]>()?;
                args.messages = Some(input.parse()?);
            } else if lookahead.peek(kw::request) {
                let key = input.parse::<kw::request>()?;
                once(&args.request, key.span, "request")?;
                input.parse::<Token![=]>()?;
                args.request = Some(input.parse()?);
            } else if lookahead.peek(kw::tool_call_id) {
                let key = input.parse::<kw::tool_call_id>()?;
                once(&args.tool_call_id, key.span, "tool_call_id")?;
                input.parse::<Token![=]>()?;
                args.tool_call_id = Some(input.parse()?);
            } else if lookahead.peek(kw::arguments) {
                let key = input.parse::<kw::arguments>()?;
                once(&args.arguments, key.span, "arguments")?;
                input.parse::<Token![=]>()?;
                args.arguments = Some(input.parse()?);
            } else if lookahead.peek(kw::audit) {
                let key = input.parse::<kw::audit>()?;
                once(&args.audit, key.span, "audit")?;
                args.audit = Some(key);
            } else if lookahead.peek(kw::stream) {
                let key = input.parse::<kw::stream>()?;
                once(&args.stream, key.span, "stream")?;
                args.stream = Some(key);
            } else if lookahead.peek(kw::kind) {
                let key = input.parse::<kw::kind>()?;
                once(&args.kind, key.span, "kind")?;
                let value = string_value(input, "kind", "kind = \"tool\"")?;
                if !KINDS.contains(&value.value().as_str()) {
                    return Err(syn::Error::new(
                        value.span(),
                        format!(
                            "unknown kind {:?}: expected one of {}",
                            value.value(),
                            KINDS.join(", ")
                        ),
                    ));
                }
                args.kind = Some(value);
            } else if lookahead.peek(Token![crate]) {
                let key = input.parse::<Token![crate]>()?;
                once(&args.krate, key.span, "crate")?;
                let value = string_value(input, "crate", "crate = \"my_reexport::llm_traced\"")?;
                args.krate = Some(value.parse::<Path>().map_err(|_| {
                    syn::Error::new(
                        value.span(),
                        "`crate` takes a path, e.g. crate = \"my_reexport::llm_traced\"",
                    )
                })?);
            } else {
                return Err(lookahead.error());
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(args)
    }
}

/// An error at the repeat of an argument given twice.
fn once<T>(slot: &Option<T>, span: Span, name: &str) -> syn::Result<()> {
    match slot {
        Some(_) => Err(syn::Error::new(
            span,
            format!("expected only a single `{name}` argument"),
        )),
        None => Ok(()),
    }
}

/// `= "literal"`, with an error that shows the expected form.
fn string_value(input: ParseStream<'_>, name: &str, example: &str) -> syn::Result<LitStr> {
    input.parse::<Token![=]>()?;
    if input.peek(LitStr) {
        return input.parse();
    }
    let message = format!("`{name}` takes a string literal, e.g. {example}");
    if input.peek(Lit) {
        let lit: Lit = input.parse()?;
        return Err(syn::Error::new(lit.span(), message));
    }
    let expr: Expr = input.parse()?;
    Err(syn::Error::new_spanned(expr, message))
}
