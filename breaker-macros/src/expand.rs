//! Generating the protected function.
//!
//! The signature is kept token for token. The body is quoted once, inside
//! `async move { ... }`, never spliced into generated statements, so `return` and `?`
//! keep their meaning; a fake return of the declared type (tracing's trick) fixes the
//! block's output type for `?`. The call site's breaker is a `static`, found once.
//! Every generated path is absolute, and generated names are `__breaker_*`.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, Pat, Path, ReturnType, Type};

use crate::validate::{Checked, Setting};

pub(crate) fn expand(item: ItemFn, checked: Checked) -> TokenStream {
    let krate = checked.krate.clone().map_or_else(|| quote!(::breaker_runtime), |path| quote!(#path));
    let private = quote!(#krate::__private);
    let ItemFn { attrs, vis, sig, block } = item;
    let stmts = &block.stmts;

    let definition = definition(&checked, &sig.ident, &private);

    let (return_type, return_span) = match &sig.output {
        ReturnType::Type(_, ty) => (Some(ty.as_ref()), ty.span()),
        ReturnType::Default => (None, sig.paren_token.span.close()),
    };
    // `impl Trait` cannot be written in a `let` type or a turbofish.
    let writable = return_type.filter(|ty| !mentions_impl(ty));
    let fake_return = writable.map(|ty| {
        quote_spanned! {ty.span()=>
            #[allow(unreachable_code, clippy::diverging_sub_expression, clippy::needless_return, clippy::empty_loop)]
            if false {
                let __breaker_fake_return: #ty = loop {};
                return __breaker_fake_return;
            }
        }
    });
    let turbofish = writable.map(|ty| quote!(::<#ty, _, _>));

    let classifier = match &checked.classify {
        Some(path) => quote_spanned!(path.span()=> #private::Classifier::new(#path)),
        None => quote!(#private::DefaultClassifier),
    };

    let site = quote! {
        const __BREAKER_DEFINITION: #private::Definition = #definition;
        #private::inventory::submit! { __BREAKER_DEFINITION }
        static __BREAKER_SITE: #private::CallSite = #private::CallSite::new(&__BREAKER_DEFINITION);
    };
    let body = quote! {
        let __breaker_body = async move {
            #fake_return
            #(#stmts)*
        };
    };

    let call = if checked.fallbacks.is_empty() {
        quote_spanned! {return_span=>
            #private::call #turbofish(__BREAKER_SITE.breaker(), #classifier, __breaker_body).await
        }
    } else {
        let arguments = arguments(&sig.inputs);
        let kept = arguments.iter().map(|(arg, span)| quote_spanned!(*span=> #private::keep(&#arg)));
        let chain = chain(&checked.fallbacks, arguments.len(), &private);
        let turbofish = writable.map(|ty| quote!(::<#ty, _, _, _, _>));
        quote! {
            let __breaker_state = (#(#kept,)*);
            let __breaker_fallback = #chain;
            #private::call_with_fallback #turbofish(
                __BREAKER_SITE.breaker(),
                #classifier,
                __breaker_body,
                __breaker_state,
                __breaker_fallback,
            ).await
        }
    };

    quote! {
        #(#attrs)*
        #vis #sig {
            #site
            #body
            #call
        }
    }
}

/// The `const` [`Definition`] of the call site.
fn definition(checked: &Checked, name: &syn::Ident, private: &TokenStream) -> TokenStream {
    let service = checked.service.as_ref().map_or_else(String::new, syn::LitStr::value);
    let function = name.to_string();
    let fields = checked.settings.iter().map(|(key, (setting, _))| {
        let key = format_ident!("{}", key);
        let value = match *setting {
            Setting::Count(n) => quote!(#n),
            Setting::Rate(r) => {
                let r = proc_macro2::Literal::f64_suffixed(r);
                quote!(#r)
            }
            Setting::Nanos(n) => quote!(#private::Duration::from_nanos(#n)),
        };
        quote!(#key: ::core::option::Option::Some(#value))
    });
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
            config: #private::ConfigLayer { #(#fields,)* ..#private::ConfigLayer::EMPTY },
            fallbacks: &[#(#fallbacks),*],
            classify: #classify,
        }
    }
}

/// The arguments the fallbacks receive: `self` and every named argument, each with the
/// span of its pattern.
fn arguments(inputs: &syn::punctuated::Punctuated<FnArg, syn::Token![,]>) -> Vec<(TokenStream, Span)> {
    inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Receiver(receiver) => {
                let token = &receiver.self_token;
                Some((quote!(#token), receiver.span()))
            }
            FnArg::Typed(typed) => match &*typed.pat {
                Pat::Ident(ident) => {
                    let name = &ident.ident;
                    Some((quote!(#name), typed.pat.span()))
                }
                // Rejected by `validate::check_fn` when there is a fallback.
                _ => None,
            },
        })
        .collect()
}

/// The fallback chain: each fallback called with copies of the kept arguments, its
/// answer (a `Result` or a future of one) made a future.
fn chain(fallbacks: &[Path], arity: usize, private: &TokenStream) -> TokenStream {
    let links: Vec<TokenStream> = fallbacks
        .iter()
        .map(|path| {
            let args = (0..arity).map(|i| {
                let index = syn::Index::from(i);
                quote_spanned!(path.span()=> #private::keep(&__breaker_args.#index))
            });
            quote_spanned! {path.span()=>
                #private::fallback_of(&__breaker_state, |_, __breaker_args| #private::answer(#path(#(#args),*)))
            }
        })
        .collect();
    let mut links = links.into_iter().rev();
    let last = links.next().unwrap_or_else(|| quote!(#private::NoFallback));
    links.fold(last, |rest, link| quote!(#private::or_else(#link, #rest)))
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
