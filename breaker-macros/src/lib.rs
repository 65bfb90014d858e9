//! Implementation detail of `breaker-runtime`: the `#[circuit_breaker]` attribute.
//! Depend on `breaker-runtime` and use `breaker_runtime::circuit_breaker` instead.
//!
//! `args` parses the attribute, `validate` checks it and the function, `expand`
//! generates the protected function. On any error the original function is emitted
//! unchanged next to the errors, so one mistake does not cascade into "cannot find
//! function" errors everywhere else.

mod args;
mod expand;
mod validate;

use proc_macro::TokenStream;

/// Protects an async function with the circuit breaker of its service.
///
/// See `breaker_runtime::circuit_breaker` for the documentation.
#[proc_macro_attribute]
pub fn circuit_breaker(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = proc_macro2::TokenStream::from(args);
    let item = proc_macro2::TokenStream::from(item);
    match protect(args.clone(), item.clone()) {
        Ok(expanded) => expanded.into(),
        Err(error) => {
            let mut out = error.to_compile_error();
            out.extend(item);
            out.into()
        }
    }
}

fn protect(
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> syn::Result<proc_macro2::TokenStream> {
    let function: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            return Err(syn::Error::new_spanned(
                first_tokens(&item),
                "`#[circuit_breaker]` goes on an `async fn` (a free function or a method)",
            ));
        }
    };
    let args_span = if args.is_empty() { proc_macro2::Span::call_site() } else { span_of(&args) };
    let (entries, syntax) = args::parse(args);
    let mut errors = validate::Errors::default();
    if let Some(syntax) = syntax {
        errors.add(syntax);
    }
    let checked = validate::check_args(entries, &mut errors);
    if checked.service.is_none() && !errors_mention_service(&errors) {
        errors.add(syn::Error::new(
            args_span,
            "`#[circuit_breaker]` needs `service = \"name\"`: the breaker of that service protects the function",
        ));
    }
    validate::check_fn(&function, &checked, &mut errors);
    errors.into_result()?;
    Ok(expand::expand(function, checked))
}

/// Whether an error was already reported about the `service` key (a bad value), so a
/// "missing service" error would only repeat it.
fn errors_mention_service(errors: &validate::Errors) -> bool {
    errors.mentions("`service`")
}

fn first_tokens(item: &proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    item.clone().into_iter().take(3).collect()
}

fn span_of(tokens: &proc_macro2::TokenStream) -> proc_macro2::Span {
    let mut iter = tokens.clone().into_iter();
    let first = iter.next().map(|t| t.span()).unwrap_or_else(proc_macro2::Span::call_site);
    let last = tokens.clone().into_iter().last().map(|t| t.span()).unwrap_or(first);
    first.join(last).unwrap_or(first)
}
