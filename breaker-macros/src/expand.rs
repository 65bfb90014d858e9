//! Generating the protected function.
//!
//! The signature is kept token for token. The body is quoted once, inside
//! `async move { ... }`, never spliced into generated statements, so `return` and `?`
//! keep their meaning; a fake return of the declared type (tracing's trick) fixes the
//! block's output type for `?`. The call site's breaker is a `static`, found once.
//! The runtime is reached through one absolute `use <crate>::__private` per function
//! (so a wrong `crate = path` is one error), and generated locals are `__breaker_*` at
//! `Span::mixed_site()`.
//!
//! Type errors are reported once, at the user's token: every generated expression that
//! a type problem can break is spanned at the token that problem is about (the error
//! type, the return type, an argument, a fallback or classifier path), so rustc sees
//! the same obligation failing at the same place and reports it once, with the
//! `#[diagnostic::on_unimplemented]` text of `__private`.

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::{FnArg, GenericArgument, Pat, Path, PathArguments, ReturnType, Type};

use crate::item::Function;
use crate::validate::{Checked, Setting};

pub(crate) fn expand(item: Function, checked: Checked) -> TokenStream {
    let krate = checked.krate.as_ref().map_or_else(|| quote!(::breaker_runtime), |path| quote!(#path));
    // One `use` of the runtime: a wrong `crate = path` is reported once, at the path.
    let private_local = Ident::new("__breaker_private", Span::call_site());
    let import = quote!(#[allow(unused_imports)] use #krate::__private as #private_local;);
    let private = quote!(#private_local);
    let Function { outer, inner, vis, sig, body: stmts } = item;

    let definition = definition(&checked, &sig.ident, &private);
    let site = quote! {
        #import
        #[allow(clippy::needless_update)]
        const __BREAKER_DEFINITION: #private::Definition = #definition;
        #private::inventory::submit! { __BREAKER_DEFINITION }
        static __BREAKER_SITE: #private::CallSite = #private::CallSite::new(&__BREAKER_DEFINITION);
    };

    let return_type = match &sig.output {
        ReturnType::Type(_, ty) => ty.as_ref(),
        // Rejected by `validate::check_fn`.
        ReturnType::Default => return quote!(#(#outer)* #vis #sig { #(#inner)* #stmts }),
    };
    // `impl Trait` cannot be written in a `let` type or a turbofish.
    let writable = !mentions_impl(return_type);
    let return_span = type_span(return_type);
    let error_type = error_type(return_type);
    let error_span = error_type.map_or(return_span, type_span);

    let body_local = local("__breaker_body");
    let classify_local = local("__breaker_classify");

    // Checks that cost nothing at run time, each spanned at the token it is about.
    let mut checks = TokenStream::new();
    let (ty_at_return, ty_at_error, err_ty) = if writable {
        let ty_at_return = respan(return_type.to_token_stream(), return_span);
        let ty_at_error = respan(return_type.to_token_stream(), error_span);
        let err_ty = match error_type {
            Some(error) if !mentions_impl(error) => error.to_token_stream(),
            _ => quote!(#private::ErrOf<#ty_at_error>),
        };
        checks.extend(respan(quote!(#private::returns_result::<#ty_at_return>();), return_span));
        checks.extend(respan(quote!(#private::carries_rejection::<#err_ty>();), error_span));
        (quote!(#ty_at_return), quote!(#ty_at_error), err_ty)
    } else {
        (quote!(_), quote!(_), quote!(_))
    };

    let fake_return = writable.then(|| {
        quote_spanned! {return_span=>
            #[allow(unreachable_code, clippy::diverging_sub_expression, clippy::needless_return, clippy::empty_loop)]
            if false {
                let __breaker_fake_return: #return_type = loop {};
                return __breaker_fake_return;
            }
        }
    });

    let classifier = match &checked.classify {
        Some(path) => {
            let span = first_span(path);
            respan(quote!(#private::classifier::<#err_ty, _>(#path)), span)
        }
        None => quote!(#private::DefaultClassifier),
    };

    let body = quote! {
        let #body_local = async move {
            #fake_return
            #stmts
        };
        let #classify_local = #classifier;
    };

    let (state, call) = if checked.fallbacks.is_empty() {
        let call = quote! {
            #private::call::<#ty_at_error, _, _>(__BREAKER_SITE.breaker(), #classify_local, #body_local).await
        };
        (TokenStream::new(), call)
    } else {
        let state_local = local("__breaker_state");
        let fallback_local = local("__breaker_fallback");
        let arguments = arguments(&sig.inputs);
        // Copies of the arguments, made before the body takes them; each spanned at its
        // argument, so a non-`Clone` argument is reported there.
        let kept = arguments.iter().map(|(arg, span)| {
            let arg = respan(quote!(&#arg), *span);
            quote!(#private::keep(#arg))
        });
        let chain = chain(&checked.fallbacks, arguments.len(), &state_local, &ty_at_return, &private);
        let state = quote! {
            let #state_local = (#(#kept,)*);
            let #fallback_local = #chain;
        };
        let call = quote! {
            #private::call_with_fallback::<#ty_at_error, _, _, _>(
                __BREAKER_SITE.breaker(),
                #classify_local,
                #body_local,
                #fallback_local,
            ).await
        };
        (state, call)
    };
    // The call is spanned at the error type, like its check: an error type without
    // `From<Error>` fails both at one place, and rustc reports it once.
    let call = respan(call, error_span);

    quote! {
        #(#outer)*
        #vis #sig {
            #(#inner)*
            #site
            #checks
            #state
            #body
            #call
        }
    }
}

/// The `const` [`Definition`] of the call site.
fn definition(checked: &Checked, name: &syn::Ident, private: &TokenStream) -> TokenStream {
    let service = checked.service.as_ref().map_or_else(String::new, syn::LitStr::value);
    let function = name.to_string();
    let fields = checked.settings.iter().filter_map(|(key, (setting, _))| {
        let key = format_ident!("{}", key);
        let value = match *setting {
            Setting::Count(n) => quote!(#n),
            Setting::Rate(r) => {
                let r = proc_macro2::Literal::f64_suffixed(r);
                quote!(#r)
            }
            Setting::Nanos(n) => quote!(#private::Duration::from_nanos(#n)),
            Setting::Off => return None,
        };
        Some(quote!(#key: ::core::option::Option::Some(#value)))
    });
    let off = checked
        .settings
        .iter()
        .filter(|(_, (setting, _))| matches!(setting, Setting::Off))
        .map(|(key, _)| *key);
    let fallbacks = checked.fallbacks.iter().map(path_string);
    let classify = match &checked.classify {
        Some(path) => {
            let path = path_string(path);
            quote!(::core::option::Option::Some(#path))
        }
        None => quote!(::core::option::Option::None),
    };
    quote! {
        #private::Definition {
            service: #service,
            function: ::core::concat!(::core::module_path!(), "::", #function),
            file: ::core::file!(),
            line: ::core::line!(),
            column: ::core::column!(),
            config: #private::ConfigLayer {
                #(#fields,)*
                off: #private::off(&[#(#off),*]),
                ..#private::ConfigLayer::EMPTY
            },
            fallbacks: &[#(#fallbacks),*],
            classify: #classify,
        }
    }
}

/// The arguments the fallbacks receive: `self` and every named argument, each with the
/// span of its name.
fn arguments(inputs: &syn::punctuated::Punctuated<FnArg, syn::Token![,]>) -> Vec<(TokenStream, Span)> {
    inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Receiver(receiver) => {
                let token = &receiver.self_token;
                Some((quote!(#token), token.span))
            }
            FnArg::Typed(typed) => match &*typed.pat {
                Pat::Ident(ident) => {
                    let name = &ident.ident;
                    Some((quote!(#name), name.span()))
                }
                // Rejected by `validate::check_fn` when there is a fallback.
                _ => None,
            },
        })
        .collect()
}

/// The fallback chain: each fallback called with copies of the kept arguments, its
/// answer (a `Result` or a future of one) made a future.
///
/// Each link is a closure that borrows the kept arguments (see `__private::link` for why
/// it does not receive them) and takes copies with `Kept::get`, which has no bound:
/// `Clone` is checked once, where the arguments are kept. Everything in a link is
/// spanned at its fallback's path, so a fallback of the wrong type is reported there.
fn chain(
    fallbacks: &[Path],
    arity: usize,
    state: &Ident,
    return_type: &TokenStream,
    private: &TokenStream,
) -> TokenStream {
    let links: Vec<TokenStream> = fallbacks
        .iter()
        .map(|path| {
            let span = first_span(path);
            // The call of the fallback is at the expansion's hygiene, located at the
            // fallback's path: its type errors show there, and rustc makes no
            // suggestion to rewrite it ("swap these arguments" would rewrite the
            // attribute into nonsense).
            let at_path = Span::mixed_site().located_at(span);
            let args = (0..arity).map(|i| {
                let index = syn::Index { index: u32::try_from(i).unwrap_or(u32::MAX), span };
                respan(quote!(#state.#index.get()), at_path)
            });
            let mut args = Group::new(Delimiter::Parenthesis, quote!(#(#args),*));
            args.set_span(at_path);
            let path = at_expansion(path.to_token_stream());
            let answer = respan(quote!(#private::answer::<#return_type, _, _>), span);
            let link = respan(quote!(#private::link), span);
            quote_spanned! {span=>
                #link(|_| #answer(#path #args))
            }
        })
        .collect();
    let mut links = links.into_iter().rev();
    let last = links.next().unwrap_or_else(|| quote!(#private::NoFallback));
    links.fold(last, |rest, link| quote!(#private::or_else(#link, #rest)))
}

/// `E` of a return type written `Result<T, E>` (or `path::Result<T, E>`), the token the
/// error-type check points at; `None` for an alias like `io::Result<T>`.
fn error_type(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else { return None };
    let types: Vec<&Type> = args
        .args
        .iter()
        .filter_map(|arg| match arg {
            GenericArgument::Type(ty) => Some(ty),
            _ => None,
        })
        .collect();
    match types.as_slice() {
        [_, error] => Some(*error),
        _ => None,
    }
}

/// The expansion's locals, at `Span::mixed_site()`: invisible to the user's code.
const LOCALS: &[&str] = &["__breaker_body", "__breaker_classify", "__breaker_state", "__breaker_fallback"];

/// A local of the expansion, invisible to the user's code.
fn local(name: &str) -> Ident {
    debug_assert!(LOCALS.contains(&name));
    Ident::new(name, Span::mixed_site())
}

/// The token a type error about `ty` points at: the name of a path type
/// (`Result` in `io::Result<T>`, `MyError` in `errors::MyError`), else its first token.
/// One token, because a multi-token span needs nightly's `Span::join` and every
/// generated expression a type problem can break must have exactly this span.
fn type_span(ty: &Type) -> Span {
    match ty {
        Type::Path(path) if path.qself.is_none() => {
            path.path.segments.last().map_or_else(|| first_span(ty), |segment| segment.ident.span())
        }
        _ => first_span(ty),
    }
}

/// The span of the first token of `tokens` (a multi-token span needs nightly's
/// `Span::join`).
fn first_span(tokens: &impl ToTokens) -> Span {
    tokens.to_token_stream().into_iter().next().map_or_else(Span::call_site, |t| t.span())
}

/// `tokens` with every span set to `span`; the expansion's own locals keep their
/// hygiene and take only the location.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|tt| match tt {
            TokenTree::Group(group) => {
                let mut new = Group::new(group.delimiter(), respan(group.stream(), span));
                new.set_span(span);
                TokenTree::Group(new)
            }
            TokenTree::Ident(mut ident) if LOCALS.contains(&ident.to_string().as_str()) => {
                ident.set_span(ident.span().located_at(span));
                TokenTree::Ident(ident)
            }
            mut other => {
                other.set_span(span);
                other
            }
        })
        .collect()
}

/// `tokens` at the expansion's hygiene, each where it is.
fn at_expansion(tokens: TokenStream) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tt| {
            if let TokenTree::Group(group) = &tt {
                let mut new = Group::new(group.delimiter(), at_expansion(group.stream()));
                new.set_span(Span::mixed_site().located_at(group.span()));
                return TokenTree::Group(new);
            }
            tt.set_span(Span::mixed_site().located_at(tt.span()));
            tt
        })
        .collect()
}

fn path_string(path: &Path) -> String {
    quote!(#path).to_string().replace(' ', "")
}

fn mentions_impl(ty: &Type) -> bool {
    fn walk(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|tt| match tt {
            TokenTree::Ident(ident) => ident == "impl",
            TokenTree::Group(group) => walk(group.stream()),
            _ => false,
        })
    }
    walk(quote!(#ty))
}
