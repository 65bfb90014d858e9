//! The function the attribute is put on, read without its body: a signature, its
//! attributes, and the body as tokens.
//!
//! The body is not parsed (tracing-attributes does the same): while someone is still
//! typing it, it may not parse, and rustc's own error about it is the one to show; the
//! attribute still emits the function, so the signature stays visible to the rest of
//! the crate and to the IDE. Inner attributes (`#![allow(..)]` at the top of the body)
//! are read apart from the body, to be put back at the top of the generated body.

use proc_macro2::TokenStream;
use syn::parse::discouraged::Speculative;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Signature, Visibility};

/// An `fn` item with its body kept as tokens.
pub(crate) struct Function {
    /// Attributes on the function (`#[inline]`, doc comments): they stay on it.
    pub(crate) outer: Vec<Attribute>,
    /// Attributes at the top of the body (`#![allow(unused)]`).
    pub(crate) inner: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    /// The statements of the body, as written.
    pub(crate) body: TokenStream,
}

impl Parse for Function {
    fn parse(input: ParseStream<'_>) -> syn::Result<Function> {
        let outer = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let content;
        syn::braced!(content in input);
        // Inner attributes that do not parse are left in the body for rustc to report.
        let fork = content.fork();
        let inner = match fork.call(Attribute::parse_inner) {
            Ok(inner) => {
                content.advance_to(&fork);
                inner
            }
            Err(_) => Vec::new(),
        };
        let body = content.parse()?;
        Ok(Function { outer, inner, vis, sig, body })
    }
}
