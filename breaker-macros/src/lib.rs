//! Implementation detail of `breaker-runtime`: the `#[circuit_breaker]` attribute.
//! Depend on `breaker-runtime` and use `breaker_runtime::circuit_breaker` instead.
//!
//! `args` parses the attribute, `validate` checks it and the function, `expand`
//! generates the protected function. On any error the original function is emitted
//! unchanged next to the errors, so one mistake does not cascade into "cannot find
//! function" errors everywhere else.

mod args;
mod expand;
mod item;
mod keys;
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
    let function: item::Function = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => return Err(not_a_function(&item)),
    };
    let (entries, syntax) = args::parse(args);
    let mut errors = validate::Errors::default();
    if let Some(syntax) = syntax {
        errors.add(syntax);
    }
    let checked = validate::check_args(entries, &function.sig.ident, &mut errors);
    if checked.service.is_none() && !errors_mention_service(&errors) {
        // Nothing in the arguments is wrong: the whole attribute is the place.
        errors.add(syn::Error::new(
            proc_macro2::Span::call_site(),
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
    // "`service` takes a string", "write `service = \"pricing\"`", ...
    errors.mentions("`service")
}

/// The error for an attribute put on something other than a function, spanned at what
/// it is (`struct Client`, `impl Client`, ...).
fn not_a_function(item: &proc_macro2::TokenStream) -> syn::Error {
    let what = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Struct(_)) => "a struct",
        Ok(syn::Item::Enum(_)) => "an enum",
        Ok(syn::Item::Union(_)) => "a union",
        Ok(syn::Item::Impl(_)) => "an `impl` block: put it on each method to protect",
        Ok(syn::Item::Trait(_)) => "a trait",
        Ok(syn::Item::Mod(_)) => "a module",
        Ok(syn::Item::Const(_)) => "a constant",
        Ok(syn::Item::Static(_)) => "a static",
        Ok(syn::Item::Type(_)) => "a type alias",
        Ok(syn::Item::Use(_)) => "a `use`",
        Ok(syn::Item::Verbatim(_)) => "a function without a body",
        _ => "this item",
    };
    syn::Error::new_spanned(
        item_head(item),
        format!("`#[circuit_breaker]` goes on an `async fn` (a free function or a method), not on {what}"),
    )
}

/// The tokens that say what an item is: its keywords up to its name (`pub struct
/// Client`), without its attributes and body.
fn item_head(item: &proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let mut head = proc_macro2::TokenStream::new();
    let mut tokens = item.clone().into_iter();
    while let Some(token) = tokens.next() {
        match &token {
            // An outer attribute: `#` and its `[...]`.
            proc_macro2::TokenTree::Punct(p) if p.as_char() == '#' && head.is_empty() => {
                tokens.next();
            }
            // `pub(crate)`: the visibility's parentheses belong to the head.
            proc_macro2::TokenTree::Group(group)
                if group.delimiter() == proc_macro2::Delimiter::Parenthesis
                    && head.clone().into_iter().last().is_some_and(|last| last.to_string() == "pub") =>
            {
                head.extend([token]);
            }
            proc_macro2::TokenTree::Group(_) => break,
            proc_macro2::TokenTree::Ident(ident) => {
                let keyword = matches!(
                    ident.to_string().as_str(),
                    "pub"
                        | "struct"
                        | "enum"
                        | "union"
                        | "impl"
                        | "trait"
                        | "mod"
                        | "const"
                        | "static"
                        | "type"
                        | "use"
                        | "unsafe"
                        | "async"
                        | "extern"
                        | "fn"
                        | "auto"
                );
                head.extend([token]);
                if !keyword {
                    break;
                }
            }
            _ => head.extend([token]),
        }
    }
    if head.is_empty() { item.clone().into_iter().take(1).collect() } else { head }
}

/// The table of configuration keys, for `breaker-runtime` to generate its key handling
/// from (see `keys.rs`): expands to `callback! { name Variant kind on|off; ... }`.
#[doc(hidden)]
#[proc_macro]
pub fn __config_keys(callback: TokenStream) -> TokenStream {
    keys::table(callback.into()).into()
}
