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
    let into_local = local("__breaker_into");
    let reject_local = local("__breaker_reject");
    let r_local = local("__breaker_r");
    let e_local = local("__breaker_e");

    // The evidence closures, each written at the token it is about: their bodies are
    // the checks (with the `on_unimplemented` texts of `__private`), and their types,
    // whose `Fn` impls need nothing, are all the rest of the expansion uses. So nothing
    // reached through the `.await` below can fail: rustc cannot merge an error at an
    // `.await` (a desugaring, whose span has no parent under incremental compilation)
    // with the same error reported at a token.
    let (ty_at_return, _err_ty, into, reject) = if writable {
        let ty_at_return = respan(return_type.to_token_stream(), return_span);
        let ty_at_error = respan(return_type.to_token_stream(), error_span);
        let err_ty = match error_type {
            Some(error) if !mentions_impl(error) => respan(error.to_token_stream(), error_span),
            _ => quote!(#private::ErrOf<#ty_at_error>),
        };
        let into =
            respan(quote!(|#r_local| #private::returns_result::<#ty_at_return>(#r_local)), return_span);
        // A type that is not the user's gets a text without "add `impl From`".
        let check = if error_type.is_some_and(is_foreign) {
            quote!(foreign_carries_rejection)
        } else {
            quote!(carries_rejection)
        };
        let reject = respan(quote!(|#e_local| #private::#check::<#err_ty>(#e_local)), error_span);
        (ty_at_return, err_ty, into, reject)
    } else {
        let into = respan(quote!(|#r_local| #private::returns_result(#r_local)), return_span);
        let reject = respan(quote!(|#e_local| #private::carries_rejection(#e_local)), error_span);
        (quote!(_), quote!(_), into, reject)
    };
    let checks = quote! {
        let #into_local = #into;
        let #reject_local = #reject;
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
            // The error type, when it is written (`Result<T, E>`), is given: with it
            // inferred, rustc would suggest rewriting the attribute ("wrap the function
            // in a closure").
            let error = match error_type {
                Some(error) if writable && !mentions_impl(error) => error.to_token_stream(),
                _ => quote!(_),
            };
            respan(quote!(#private::classifier::<#error, _, _>(&#reject_local, #path)), span)
        }
        // Without `classify =`, the types may judge themselves (an HTTP response by
        // its status, a `tonic::Status` by its code): the classifier is picked by the
        // return type, when it can be written.
        None if writable => quote! {{
            #[allow(unused_imports)]
            use #private::autoref::{PickBoth as _, PickDefault as _, PickError as _, PickOk as _};
            (&&&&#private::autoref::Probe::<#ty_at_return>::NEW).classifier()
        }},
        None => quote!(#private::DefaultClassifier),
    };

    // Failures are shown in the transition they trigger: with their sources when the
    // error type is an `Error` (or gives one: a boxed `dyn Error`, `anyhow::Error`), else
    // by their `Display` when it has it (picked at the return type, like the classifier).
    let classifier = if writable {
        quote! {
            #private::describing(#classifier, {
                #[allow(unused_imports)]
                use #private::autoref::{
                    PickDisplay as _, PickDynError as _, PickErrorChain as _, PickNoDisplay as _,
                };
                (&&&&#private::autoref::Probe::<#ty_at_return>::NEW).describer()
            })
        }
    } else {
        classifier
    };
    let body = quote! {
        let #body_local = async move {
            #fake_return
            #stmts
        };
        let #classify_local = #classifier;
    };

    let (state, call) = if checked.fallbacks.is_empty() {
        // A traced call (`trace = true`, in the attribute or a layer) takes a boxed future
        // of its own: an untraced one pays a load and a branch, nothing in size.
        let args = quote!(__BREAKER_SITE.breaker(), #classify_local, #body_local, #into_local, #reject_local);
        let call = quote! {
            if #private::traced(__BREAKER_SITE.breaker()) {
                #private::call_traced(#args).await
            } else {
                #private::call(#args).await
            }
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
        let shape = Shape::of(&sig, return_type);
        let (items, chain) = chain(
            &checked.fallbacks,
            arguments.len(),
            &state_local,
            &ty_at_return,
            &reject_local,
            &into_local,
            &shape,
            &private,
        );
        // The checks' items are declared in a block of their own: the user's body does
        // not see them (an item of the function's block would shadow the user's names in
        // the body too).
        let state = quote! {
            let #state_local = (#(#kept,)*);
            let #fallback_local = {
                #items
                #chain
            };
        };
        let args = quote! {
            __BREAKER_SITE.breaker(),
            #classify_local,
            #body_local,
            #into_local,
            #reject_local,
            #fallback_local,
        };
        let call = quote! {
            if #private::traced(__BREAKER_SITE.breaker()) {
                #private::call_with_fallback_traced(#args).await
            } else {
                #private::call_with_fallback(#args).await
            }
        };
        (state, call)
    };
    // Nothing in the call can fail (see above); it is spanned at the error type only so
    // that a failure we did not foresee still points at the user's code.
    let call = respan(call, error_span);
    // Back to the function's own return type, at the return type (the same check as
    // `into`'s, at the same place: reported once).
    let from = respan(quote!(#private::from_result::<#ty_at_return>), return_span);

    quote! {
        #(#outer)*
        #vis #sig {
            #(#inner)*
            #site
            #checks
            #state
            #body
            #from(#call)
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
            Setting::Switch(b) => quote!(#b),
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

/// What a fallback must look like, as text for its error message: the protected
/// function's name, parameters and return type, as written.
struct Shape {
    function: String,
    params: Vec<String>,
    output: String,
}

impl Shape {
    fn of(sig: &syn::Signature, output: &Type) -> Shape {
        let params = sig
            .inputs
            .iter()
            .map(|input| match input {
                FnArg::Receiver(receiver) => tokens_text(&receiver.to_token_stream()),
                FnArg::Typed(typed) => {
                    format!(
                        "{}: {}",
                        tokens_text(&typed.pat.to_token_stream()),
                        tokens_text(&typed.ty.to_token_stream())
                    )
                }
            })
            .collect();
        Shape { function: sig.ident.to_string(), params, output: tokens_text(&output.to_token_stream()) }
    }
}

/// Tokens as text, the way a person writes them (`Result<u64, Error>`, `&'a str`,
/// `impl Display + Clone`, `[u16; 2]`), for the error texts.
fn tokens_text(tokens: &TokenStream) -> String {
    fn walk(tokens: TokenStream, out: &mut String) {
        // Whether the last token wants a space after it; whether it is a word.
        let (mut space, mut word) = (false, false);
        let mut iter = tokens.into_iter().peekable();
        while let Some(tt) = iter.next() {
            match tt {
                TokenTree::Ident(ident) => {
                    if space || word {
                        out.push(' ');
                    }
                    out.push_str(&ident.to_string());
                    (space, word) = (false, true);
                }
                TokenTree::Literal(literal) => {
                    if space || word {
                        out.push(' ');
                    }
                    out.push_str(&literal.to_string());
                    (space, word) = (false, true);
                }
                TokenTree::Group(group) => {
                    if space {
                        out.push(' ');
                    }
                    let (open, close) = match group.delimiter() {
                        Delimiter::Parenthesis => ("(", ")"),
                        Delimiter::Bracket => ("[", "]"),
                        Delimiter::Brace => ("{ ", " }"),
                        Delimiter::None => ("", ""),
                    };
                    out.push_str(open);
                    walk(group.stream(), out);
                    out.push_str(close);
                    (space, word) = (false, false);
                }
                TokenTree::Punct(punct) => {
                    let c = punct.as_char();
                    let joint = punct.spacing() == proc_macro2::Spacing::Joint;
                    let next = iter.peek().and_then(|tt| match tt {
                        TokenTree::Punct(p) => Some(p.as_char()),
                        _ => None,
                    });
                    match c {
                        // `->`, `=`, `+`: spaces around.
                        '-' if joint && next == Some('>') => {
                            iter.next();
                            out.push_str(" -> ");
                            (space, word) = (false, false);
                        }
                        '=' | '+' => {
                            out.push_str(&format!(" {c} "));
                            (space, word) = (false, false);
                        }
                        // `::`: no spaces.
                        ':' if joint && next == Some(':') => {
                            iter.next();
                            out.push_str("::");
                            (space, word) = (false, false);
                        }
                        // `,`, `;`, `:`: a space after.
                        ',' | ';' | ':' => {
                            out.push(c);
                            (space, word) = (true, false);
                        }
                        // A lifetime's quote sticks to its name, which is a word.
                        '\'' => {
                            if space || word {
                                out.push(' ');
                            }
                            out.push(c);
                            (space, word) = (false, false);
                        }
                        _ => {
                            if space {
                                out.push(' ');
                            }
                            out.push(c);
                            (space, word) = (false, false);
                        }
                    }
                }
            }
        }
    }
    let mut out = String::new();
    walk(tokens.clone(), &mut out);
    out
}

/// `text` made literal in an `on_unimplemented` string (where `{` starts a parameter).
fn literal(text: &str) -> String {
    text.replace('{', "{{").replace('}', "}}")
}

/// The fallback chain, and the items it needs.
///
/// For each fallback, a trait declared in the function's body, generic over the
/// arguments' tuple, the return type, the error type and the kind of fallback: its only
/// impl is for every `__private::FallbackFn`, and its `on_unimplemented` text (written
/// here, where the names are known) names the fallback and the function and shows the
/// signature expected. The fallback is called through it, at its path: a fallback of the
/// wrong shape is one error, there, with that text.
///
/// Each link is an async closure borrowing the kept arguments (and taking copies with
/// `Kept::get`, which has no bound) and the cause; its `AsyncFnOnce` impl needs nothing,
/// so the chain's `Fallback` bound, checked again where the chain is awaited, holds.
#[allow(clippy::too_many_arguments)]
fn chain(
    fallbacks: &[Path],
    arity: usize,
    state: &Ident,
    return_type: &TokenStream,
    reject: &Ident,
    into: &Ident,
    shape: &Shape,
    private: &TokenStream,
) -> (TokenStream, TokenStream) {
    let cause_local = local("__breaker_cause");
    // The links capture one reference to the kept arguments (a `move` closure captures
    // the reference itself; a plain one would capture a reference per argument).
    let kept_ref = local("__breaker_kept");
    let mut items = TokenStream::new();
    let links: Vec<TokenStream> = fallbacks
        .iter()
        .enumerate()
        .map(|(n, path)| {
            // At the function's name (`cached` in `Self::cached`): what the error is about.
            let span = path.segments.last().map_or_else(|| first_span(path), |segment| segment.ident.span());
            let fn_name = path.segments.last().map_or_else(|| path_string(path), |segment| segment.ident.to_string());
            let name = path_string(path);
            let trait_name = Ident::new(&format!("__BreakerFallback{n}"), Span::call_site());
            let params = shape.params.join(", ");
            let message = literal(&format!(
                "`{name}` cannot be the fallback of `{}`: a fallback takes the parameters of `{}` and returns its return type",
                shape.function, shape.function
            ));
            let label = literal(&format!(
                "expected `fn {fn_name}({params}) -> {}`, or the same `async fn`",
                shape.output
            ));
            let with_cause = if params.is_empty() { String::from("cause: &Cause<") } else { format!("{params}, cause: &Cause<") };
            let note_cause = format!(
                "{}{{E}}>) -> {}`",
                literal(&format!("a fallback may also take the cause as its last parameter: `fn {fn_name}({with_cause}")),
                literal(&shape.output)
            );
            let check_name = Ident::new(&format!("__breaker_fallback{n}"), Span::call_site());
            // The items are located at the path, so the note "required by a bound in
            // `__breaker_fallback0`" points there, not at the whole attribute.
            let at_path_call_site = Span::call_site().located_at(span);
            items.extend(respan_all(quote! {
                #[diagnostic::on_unimplemented(
                    message = #message,
                    label = #label,
                    note = #note_cause
                )]
                trait #trait_name<A, R, E, M>: #private::FallbackFn<A, R, E, M> {}
                #[diagnostic::do_not_recommend]
                impl<F: #private::FallbackFn<A, R, E, M>, A, R, E, M> #trait_name<A, R, E, M> for F {}
                #[inline(always)]
                fn #check_name<A, F: #trait_name<A, R, E, M>, R, E, M>(_: &A, _: &#private::Cause<E>, fallback: F) -> F {
                    fallback
                }
            }, at_path_call_site));
            // The call of the fallback is at the expansion's hygiene, located at the
            // fallback's path: its errors show there, and rustc makes no suggestion to
            // rewrite it.
            let at_path = Span::mixed_site().located_at(span);
            let args = (0..arity).map(|i| {
                let index = syn::Index { index: u32::try_from(i).unwrap_or(u32::MAX), span };
                respan(quote!(#kept_ref.#index.get()), at_path)
            });
            let mut args = Group::new(Delimiter::Parenthesis, quote!(#(#args,)*));
            args.set_span(at_path);
            let path = at_expansion(path.to_token_stream());
            // The arguments' tuple is bound first, so its type is known when the
            // fallback's trait is selected (else rustc would infer it from the fallback's
            // own parameters and report a type mismatch instead).
            let args_local = local("__breaker_args");
            let fallback_fn = local("__breaker_fn");
            // The check, in a statement of its own: its error (with the text above) is
            // reported before, or in the same batch as, the same failure of the call
            // below, which rustc then drops as implied by it.
            // Every token of the link is at the expansion's hygiene, located at the
            // fallback's path: an expression mixing hygienes gets the span of the whole
            // attribute (rustc joins them at their common call site), and then an error
            // about it would not be merged with the same error at the path.
            let check = respan(quote!(#check_name::<_, _, #return_type, _, _>), at_path);
            let check = quote!(#check(&#args_local, #cause_local, #path));
            let call = respan(
                quote!(#private::FallbackFn::<_, #return_type, _, _>::call_fallback(#args_local, #cause_local, #fallback_fn)),
                at_path,
            );
            // The arguments and the fallback are bound in a block that ends before the
            // `.await`: bindings alive across it would be stored in the link's future.
            let link = quote! {
                #private::link(&#reject, #into, async move |#cause_local| {
                    {
                        let #args_local = #args;
                        let #fallback_fn = #check;
                        #call
                    }
                    .await
                })
            };
            // The user's types keep their spans: a problem with them (a return type
            // that is not a `Result`) is reported at them, with the same error there.
            let keep = quote!(#path #return_type);
            respan_keeping(link, at_path, &keep)
        })
        .collect();
    let mut links = links.into_iter().rev();
    let last = links.next().unwrap_or_else(|| quote!(#private::NoFallback));
    let chain = links.fold(last, |rest, link| quote!(#private::or_else(#link, #rest)));
    (quote!(#items let #kept_ref = &#state;), chain)
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

/// Whether the error type is, as written, one the user's crate cannot implement
/// `From<Error>` for: a type of the standard library (by path or prelude name), a
/// primitive, a reference, tuple, slice or array. Other crates' types cannot be told
/// from a local one by syntax; they get the general text, which covers both.
fn is_foreign(ty: &Type) -> bool {
    const STD: &[&str] = &["std", "core", "alloc"];
    const PRELUDE: &[&str] = &[
        "String", "Box", "Vec", "Option", "Result", "Cow", "Rc", "Arc", "str", "bool", "char", "u8", "u16",
        "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32", "f64",
    ];
    match ty {
        Type::Path(path) if path.qself.is_none() => {
            let segments = &path.path.segments;
            match segments.first() {
                Some(first) if segments.len() > 1 => STD.contains(&first.ident.to_string().as_str()),
                Some(only) => PRELUDE.contains(&only.ident.to_string().as_str()),
                None => false,
            }
        }
        Type::Reference(_)
        | Type::Tuple(_)
        | Type::Slice(_)
        | Type::Array(_)
        | Type::Ptr(_)
        | Type::BareFn(_) => true,
        Type::Paren(inner) => is_foreign(&inner.elem),
        Type::Group(inner) => is_foreign(&inner.elem),
        _ => false,
    }
}

/// The expansion's locals, at `Span::mixed_site()`: invisible to the user's code.
const LOCALS: &[&str] = &[
    "__breaker_body",
    "__breaker_classify",
    "__breaker_state",
    "__breaker_fallback",
    "__breaker_into",
    "__breaker_reject",
    "__breaker_r",
    "__breaker_e",
    "__breaker_cause",
    "__breaker_args",
    "__breaker_fn",
    "__breaker_kept",
];

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

/// `tokens` respanned to `span`, but for the tokens of `keep` (spliced in already),
/// found by their span, which keep theirs.
fn respan_keeping(tokens: TokenStream, span: Span, keep: &TokenStream) -> TokenStream {
    fn spans(tokens: TokenStream, out: &mut Vec<String>) {
        for tt in tokens {
            out.push(format!("{:?}", tt.span()));
            if let TokenTree::Group(group) = tt {
                spans(group.stream(), out);
            }
        }
    }
    let mut kept = Vec::new();
    spans(keep.clone(), &mut kept);
    tokens
        .into_iter()
        .map(|tt| match tt {
            TokenTree::Group(group) => {
                let mut new = Group::new(group.delimiter(), respan_keeping(group.stream(), span, keep));
                if !kept.contains(&format!("{:?}", group.span())) {
                    new.set_span(span);
                } else {
                    new.set_span(group.span());
                }
                TokenTree::Group(new)
            }
            TokenTree::Ident(mut ident) if LOCALS.contains(&ident.to_string().as_str()) => {
                ident.set_span(ident.span().located_at(span));
                TokenTree::Ident(ident)
            }
            mut other => {
                if !kept.contains(&format!("{:?}", other.span())) {
                    other.set_span(span);
                }
                other
            }
        })
        .collect()
}

/// `tokens` with every span set to `span`, string literals included.
fn respan_all(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|tt| match tt {
            TokenTree::Group(group) => {
                let mut new = Group::new(group.delimiter(), respan_all(group.stream(), span));
                new.set_span(span);
                TokenTree::Group(new)
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
