//! Code generation: the instrumented function.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, FnArg, Lit, Pat, ReturnType, Signature, Visibility};

use crate::attr::Args;

/// A function whose body is kept as raw tokens, so that a syntax error in the
/// body is reported by the compiler as the user wrote it, not by this macro.
pub(crate) struct MaybeItemFn {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    pub(crate) body: TokenStream,
}

impl syn::parse::Parse for MaybeItemFn {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let sig: Signature = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "`#[llm_traced]` goes on a function (`fn` or `async fn`)",
            )
        })?;
        if input.peek(syn::Token![;]) {
            return Err(syn::Error::new(
                input.span(),
                "`#[llm_traced]` needs a function with a body",
            ));
        }
        let body: proc_macro2::Group = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "`#[llm_traced]` goes on a function: expected its body `{ … }`",
            )
        })?;
        if body.delimiter() != proc_macro2::Delimiter::Brace {
            return Err(syn::Error::new(
                body.span(),
                "expected the function's body `{ … }`",
            ));
        }
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the function"));
        }
        Ok(MaybeItemFn {
            attrs,
            vis,
            sig,
            body: body.to_token_stream(),
        })
    }
}

pub(crate) fn expand(args: Args, item: MaybeItemFn) -> syn::Result<TokenStream> {
    let MaybeItemFn {
        attrs,
        vis,
        sig,
        body,
    } = item;
    if let Some(constness) = &sig.constness {
        return Err(syn::Error::new(
            constness.span,
            "`#[llm_traced]` cannot instrument a `const fn`",
        ));
    }

    let krate = match &args.krate {
        Some(path) => path.to_token_stream(),
        None => quote!(::llm_traced),
    };
    let private = quote!(#krate::__private);

    let fn_name = sig.ident.to_string();
    let name = args.name.as_ref().map_or(fn_name, |n| n.value());
    let kind = args
        .kind
        .as_ref()
        .map_or_else(|| "llm".to_owned(), |k| k.value());
    let audit = args.audit.is_some();
    // Without the runtime's `audit` feature this is a compile error at the
    // attribute, never a call silently left out of the audit log.
    let require_audit = args
        .audit
        .as_ref()
        .map(|key| quote_spanned!(key.span => #private::require_audit!();));
    let is_step = kind != "llm";
    if let (true, Some(messages)) = (is_step, &args.messages) {
        return Err(syn::Error::new_spanned(
            messages,
            "`messages` applies to model calls; a step (`kind = \"…\"`) records timing and errors only",
        ));
    }
    if let (true, Some(request)) = (is_step, &args.request) {
        return Err(syn::Error::new_spanned(
            request,
            "`request` applies to model calls; a step (`kind = \"…\"`) records timing and errors only",
        ));
    }
    let is_tool = kind == "tool";
    for (arg, name) in [
        (&args.tool_call_id, "tool_call_id"),
        (&args.arguments, "arguments"),
    ] {
        if let (false, Some(expr)) = (is_tool, arg) {
            return Err(syn::Error::new_spanned(
                expr,
                format!("`{name}` applies to tool steps only: add `kind = \"tool\"`"),
            ));
        }
    }
    let default_operation = match kind.as_str() {
        "tool" => "execute_tool",
        "agent" => "invoke_agent",
        "llm" => "chat",
        other => other,
    };
    let operation = args
        .operation
        .as_ref()
        .map_or_else(|| default_operation.to_owned(), |o| o.value());
    let provider = match &args.provider {
        Some(p) => quote!(::core::option::Option::Some(#p)),
        None => quote!(::core::option::Option::None),
    };

    // A string-literal model is known at compile time: it names the span.
    let static_model = match &args.model {
        Some(Expr::Lit(lit)) => match &lit.lit {
            Lit::Str(s) => Some(s.value()),
            _ => None,
        },
        _ => None,
    };
    let model_site = match &static_model {
        Some(m) => quote!(::core::option::Option::Some(#m)),
        None => quote!(::core::option::Option::None),
    };
    // Model calls: "{operation} {model}"; steps: "{operation} {name}", as the
    // GenAI conventions name tool and agent spans.
    let span_name = match (&static_model, is_step) {
        (_, true) => format!("{operation} {name}"),
        (Some(m), false) => format!("{operation} {m}"),
        (None, false) => operation.clone(),
    };
    let otel_kind = if is_step { "internal" } else { "client" };
    let span_name = syn::LitStr::new(&span_name, Span::call_site());

    let capture = Ident::new("__llm_traced_capture", Span::call_site());
    let model_capture = match (&args.model, &static_model) {
        (Some(expr), None) => quote_spanned!(expr.span()=> #capture.model(&(#expr));),
        _ => quote!(),
    };
    let messages_expr = match &args.messages {
        Some(expr) => Some(expr.to_token_stream()),
        None if is_step => None,
        None => argument_named(&sig, "messages").map(|i| i.to_token_stream()),
    };
    let messages_capture = match &messages_expr {
        Some(expr) => quote_spanned!(expr.span()=> #capture.messages(&(#expr));),
        None => quote!(),
    };
    // `request = …` must be `Serialize`; an argument named `request` is
    // recorded when its type is, and left alone otherwise (an HTTP request,
    // an extractor), chosen at compile time by autoref.
    let request_capture = match (&args.request, is_step) {
        (Some(expr), _) => quote_spanned!(expr.span()=> #capture.request(&(#expr));),
        (None, true) => quote!(),
        (None, false) => match argument_named(&sig, "request") {
            Some(ident) => quote! {{
                use #private::{ViaOpaqueRequest as _, ViaSerializeRequest as _};
                (&#private::RequestProbe(&#ident)).capture_request(#capture);
            }},
            None => quote!(),
        },
    };

    // A tool step: its call id, and its arguments (`arguments = …`, else
    // each of its own arguments whose type is `Serialize`, by autoref).
    let tool_call_id_capture = match &args.tool_call_id {
        Some(expr) => quote_spanned!(expr.span()=> #capture.tool_call_id(&(#expr));),
        None => quote!(),
    };
    let arguments_capture = match (&args.arguments, is_tool) {
        (Some(expr), _) => quote_spanned!(expr.span()=> #capture.tool_arguments(&(#expr));),
        (None, false) => quote!(),
        (None, true) => {
            let each = named_arguments(&sig).map(|ident| {
                let key = ident.unraw().to_string();
                quote! {
                    (&#private::ArgumentProbe(&#ident)).capture_argument(#key, #capture);
                }
            });
            quote! {
                if #capture.wants_tool_arguments() {
                    #[allow(unused_imports)]
                    use #private::{ViaOpaqueArgument as _, ViaSerializeArgument as _};
                    #(#each)*
                }
            }
        }
    };
    let description = match (is_tool, doc_summary(&attrs)) {
        (true, Some(text)) => quote!(::core::option::Option::Some(#text)),
        _ => quote!(::core::option::Option::None),
    };

    let marker = Ident::new("__llm_traced_here", Span::call_site());
    let output_span = match &sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => sig.ident.span(),
    };
    let state = Ident::new("__llm_traced_state", Span::call_site());
    // The wrapper is called through a local alias spanned at the return type,
    // so that a return type without `LlmResponse` is reported there.
    // The wrapper is called through a local alias spanned at the return type,
    // so that a return type without `LlmResponse` is reported there. When
    // nothing listens, an async body is awaited as it is, with no wrapper.
    // For a nameable return type, pick at compile time whether its error can
    // tell its HTTP status and body (autoref specialisation); `impl Trait`
    // cannot be named in the body, so it gets the plain capture.
    let enrich = match (&sig.output, is_step) {
        (ReturnType::Type(_, ty), false) if !mentions_impl_trait(ty) => {
            quote_spanned! {output_span=> {
                #[allow(unused_imports)]
                use #private::{ViaHttpDetails as _, ViaPlain as _};
                (&&#private::Probe::<#ty>::new()).enricher()
            }}
        }
        (ReturnType::Type(_, ty), true) if !mentions_impl_trait(ty) => {
            quote_spanned! {output_span=> {
                #[allow(unused_imports)]
                use #private::{
                    ViaSerializeResultStep as _, ViaResultStep as _, ViaSerializeStep as _,
                    ViaPlainStep as _,
                };
                (&&&&#private::Probe::<#ty>::new()).step_probe()
            }}
        }
        _ => quote!(::core::option::Option::None),
    };
    let stream = stream_shape(&sig.output, args.stream.is_some())?;
    if let (Some(_), true) = (&stream, is_step) {
        return Err(syn::Error::new(
            output_span,
            "a step (`kind = \"…\"`) cannot return a stream: streams are model calls",
        ));
    }
    let (async_wrapper, sync_wrapper) = if is_step {
        (quote!(traced_step), quote!(run_step))
    } else {
        (quote!(traced), quote!(run_sync))
    };
    // The "fake return" (as in tracing-attributes): an unreachable `return`
    // of a value of the declared type fixes the type of the wrapped body, so
    // that its tail is checked against the signature (coercions such as
    // `Box<Concrete>` → `Box<dyn Trait>` keep working) and type errors point
    // at the user's code.
    let body = match &sig.output {
        ReturnType::Type(_, ty) if !mentions_impl_trait(ty) => quote_spanned! {output_span=> {
            #[allow(
                unknown_lints,
                unreachable_code,
                clippy::diverging_sub_expression,
                clippy::empty_loop,
                clippy::let_unit_value,
                clippy::let_with_type_underscore,
                clippy::needless_return,
                clippy::unreachable
            )]
            if false {
                let __llm_traced_fake_return: #ty = loop {};
                return __llm_traced_fake_return;
            }
            #body
        }},
        _ => body,
    };
    let run = if let Some(shape) = &stream {
        let wrapper = match shape {
            StreamShape::Bare => quote!(#private::wrap_stream),
            StreamShape::ResultBare => quote!(#private::wrap_result_stream),
            StreamShape::Named(ty) => quote_spanned! {output_span=> {
                #[allow(unused_imports)]
                use #private::{ViaBoxedStream as _, ViaResultBoxedStream as _};
                (&&#private::Probe::<#ty>::new()).stream_wrapper()
            }},
        };
        if sig.asyncness.is_some() {
            let wrap = quote_spanned!(output_span=> __llm_traced_wrap);
            let body_future = quote_spanned!(output_span=> async move #body);
            quote! {
                use #private::traced_stream as #wrap;
                #wrap(#state, #wrapper, #body_future).await
            }
        } else {
            let wrap = quote_spanned!(output_span=> __llm_traced_run);
            quote! {
                use #private::run_stream as #wrap;
                #wrap(#state, #wrapper, move || #body)
            }
        }
    } else if sig.asyncness.is_some() {
        let wrap = quote_spanned!(output_span=> __llm_traced_wrap);
        let body_future = quote_spanned!(output_span=> async move #body);
        let body_var = Ident::new("__llm_traced_body", output_span);
        let call = quote_spanned!(output_span=> #wrap(#state, #enrich, #body_var).await);
        quote! {
            use #private::#async_wrapper as #wrap;
            let #body_var = #body_future;
            match #state {
                ::core::option::Option::None => #body_var.await,
                #state @ ::core::option::Option::Some(_) => #call,
            }
        }
    } else {
        let wrap = quote_spanned!(output_span=> __llm_traced_run);
        let call = quote_spanned!(output_span=> #wrap(#state, #enrich, move || #body));
        quote! {
            use #private::#sync_wrapper as #wrap;
            #call
        }
    };

    Ok(quote! {
        #(#attrs)*
        #vis #sig {
            #[allow(non_camel_case_types)]
            struct #marker;
            #require_audit
            static __LLM_TRACED_SITE: #private::Site = #private::Site {
                name: #name,
                path: ::core::any::type_name::<#marker>,
                operation: #operation,
                provider: #provider,
                model: #model_site,
                kind: #kind,
                audit: #audit,
                description: #description,
                function_cache: #private::OnceLock::new(),
            };
            let #state = if !#audit && #private::quiet() {
                ::core::option::Option::None
            } else {
                #private::start(
                    &__LLM_TRACED_SITE,
                    #private::span!(#span_name, #otel_kind),
                    |#capture: &mut #private::Capture<'_>| {
                        let _ = &#capture;
                        #model_capture
                        #messages_capture
                        #request_capture
                        #tool_call_id_capture
                        #arguments_capture
                    },
                )
            };
            #run
        }
    })
}

/// How a streaming function's output is wrapped.
enum StreamShape {
    /// `-> impl Stream<…>`
    Bare,
    /// `-> Result<impl Stream<…>, E>`
    ResultBare,
    /// A named type (`stream` argument): a boxed stream or a `Result` of one,
    /// chosen at compile time.
    Named(TokenStream),
}

/// Whether `ty` is `impl … Stream<…> …`.
fn is_impl_stream(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::ImplTrait(t) => t.bounds.iter().any(|b| match b {
            syn::TypeParamBound::Trait(t) => {
                t.path.segments.last().is_some_and(|s| s.ident == "Stream")
            }
            _ => false,
        }),
        syn::Type::Paren(p) => is_impl_stream(&p.elem),
        _ => false,
    }
}

/// The stream shape of a return type: `impl Stream` and `Result<impl Stream,
/// E>` are recognised by themselves; a named type needs the `stream` flag.
fn stream_shape(output: &ReturnType, flagged: bool) -> syn::Result<Option<StreamShape>> {
    let ReturnType::Type(_, ty) = output else {
        return match flagged {
            true => Err(syn::Error::new(
                output.span(),
                "`stream` needs a function that returns a stream",
            )),
            false => Ok(None),
        };
    };
    if is_impl_stream(ty) {
        return Ok(Some(StreamShape::Bare));
    }
    if let syn::Type::Path(path) = &**ty {
        if let Some(last) = path.path.segments.last().filter(|s| s.ident == "Result") {
            if let syn::PathArguments::AngleBracketed(args) = &last.arguments {
                if let Some(syn::GenericArgument::Type(first)) = args.args.first() {
                    if is_impl_stream(first) {
                        return Ok(Some(StreamShape::ResultBare));
                    }
                }
            }
        }
    }
    if !flagged {
        return Ok(None);
    }
    if mentions_impl_trait(ty) {
        return Err(syn::Error::new(
            ty.span(),
            "`stream` needs `impl Stream<Item = …>`, `Result<impl Stream<Item = …>, E>`, \
             a boxed stream (`Pin<Box<dyn Stream<Item = …> + Send>>`) or a `Result` of one",
        ));
    }
    Ok(Some(StreamShape::Named(ty.to_token_stream())))
}

/// Whether a type contains `impl Trait`, which cannot be named in a body.
fn mentions_impl_trait(ty: &syn::Type) -> bool {
    ty.to_token_stream().into_iter().any(|t| matches!(&t, proc_macro2::TokenTree::Ident(i) if i == "impl"))
        || ty
            .to_token_stream()
            .into_iter()
            .any(|t| matches!(&t, proc_macro2::TokenTree::Group(g) if g.stream().into_iter().any(|t| matches!(&t, proc_macro2::TokenTree::Ident(i) if i == "impl"))))
}

/// The argument called `name`, if the function has one.
fn argument_named<'a>(sig: &'a Signature, name: &str) -> Option<&'a Ident> {
    sig.inputs.iter().find_map(|arg| match arg {
        FnArg::Typed(typed) => match &*typed.pat {
            Pat::Ident(pat) if pat.ident == name => Some(&pat.ident),
            _ => None,
        },
        FnArg::Receiver(_) => None,
    })
}

/// The function's arguments that have a name: `self` and patterns
/// (`(a, b): (u32, u32)`) are left out.
fn named_arguments(sig: &Signature) -> impl Iterator<Item = &Ident> {
    sig.inputs.iter().filter_map(|arg| match arg {
        FnArg::Typed(typed) => match &*typed.pat {
            Pat::Ident(pat) => Some(&pat.ident),
            _ => None,
        },
        FnArg::Receiver(_) => None,
    })
}

/// The first paragraph of the doc comment (`///` or `/** */`), on one line:
/// a tool's description.
fn doc_summary(attrs: &[Attribute]) -> Option<String> {
    let mut lines = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("doc")) {
        let syn::Meta::NameValue(meta) = &attr.meta else {
            continue;
        };
        let Expr::Lit(syn::ExprLit {
            lit: Lit::Str(text),
            ..
        }) = &meta.value
        else {
            // `#[doc = include_str!(…)]`: not read.
            continue;
        };
        // `split`, not `lines`: an empty `///` line is an empty string, the
        // end of the paragraph.
        lines.extend(text.value().split('\n').map(|l| l.trim().to_owned()));
    }
    let paragraph: Vec<&str> = lines
        .iter()
        .map(String::as_str)
        .skip_while(|l| l.is_empty())
        .take_while(|l| !l.is_empty())
        .collect();
    (!paragraph.is_empty()).then(|| paragraph.join(" "))
}

/// The item unchanged, after the error: the user sees one clear error and no
/// cascade of secondary ones.
pub(crate) fn with_error(error: syn::Error, item: TokenStream) -> TokenStream {
    let mut out = error.to_compile_error();
    out.extend(item);
    out
}
