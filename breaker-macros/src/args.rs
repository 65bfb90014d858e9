//! Parsing the attribute's arguments: `key = value` pairs, each kept with its spans.
//!
//! Parsing is per entry: a malformed value is reported and the other entries are still
//! read, so one build reports every independent mistake.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Ident, LitBool, LitFloat, LitInt, LitStr, Path, Token};

/// One `key = value` of the attribute, as written.
pub(crate) struct Entry {
    pub(crate) key: Ident,
    pub(crate) value: Value,
}

/// A value, as written.
pub(crate) enum Value {
    Str(LitStr),
    Int(LitInt),
    Float(LitFloat),
    Bool(LitBool),
    Path(Path),
    List(Vec<Path>, Span),
    /// Anything else: reported by the key's check.
    Other(TokenStream),
}

impl Value {
    pub(crate) fn span(&self) -> Span {
        match self {
            Value::Str(lit) => lit.span(),
            Value::Int(lit) => lit.span(),
            Value::Float(lit) => lit.span(),
            Value::Bool(lit) => lit.span(),
            Value::Path(path) => path.span(),
            Value::List(_, span) => *span,
            Value::Other(tokens) => tokens.span(),
        }
    }

    /// What the value is, for error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a decimal number",
            Value::Bool(_) => "a boolean",
            Value::Path(_) => "a path",
            Value::List(..) => "a list",
            Value::Other(_) => "an expression",
        }
    }
}

/// Parses the attribute's arguments into entries, collecting every syntax error.
pub(crate) fn parse(args: TokenStream) -> (Vec<Entry>, Option<syn::Error>) {
    let mut entries = Vec::new();
    let mut errors: Option<syn::Error> = None;
    let mut add = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    for chunk in split_commas(args) {
        match parse_entry.parse2(chunk) {
            Ok(entry) => entries.push(entry),
            Err(e) => add(e),
        }
    }
    (entries, errors)
}

/// The arguments split at top-level commas; empty pieces (a trailing comma) dropped.
///
/// A comma between `<` and `>` belongs to generic arguments (`fallback = pick::<u8,
/// u16>`): `<` and `>` are not delimiters of their own, so their nesting is counted
/// (the `>` of `->` closes nothing).
fn split_commas(args: TokenStream) -> Vec<TokenStream> {
    let mut chunks = vec![TokenStream::new()];
    let mut angles = 0usize;
    let mut after_dash = false;
    for tt in args {
        let mut dash = false;
        match &tt {
            TokenTree::Punct(p) if p.as_char() == ',' && angles == 0 => {
                chunks.push(TokenStream::new());
                continue;
            }
            TokenTree::Punct(p) if p.as_char() == '<' => angles += 1,
            TokenTree::Punct(p) if p.as_char() == '>' && !after_dash => angles = angles.saturating_sub(1),
            TokenTree::Punct(p) if p.as_char() == '-' => dash = p.spacing() == proc_macro2::Spacing::Joint,
            _ => {}
        }
        after_dash = dash;
        if let Some(last) = chunks.last_mut() {
            last.extend([tt]);
        }
    }
    chunks.retain(|c| !c.is_empty());
    chunks
}

fn parse_entry(input: ParseStream<'_>) -> syn::Result<Entry> {
    let key = if input.peek(Ident::peek_any) {
        input.call(Ident::parse_any)?
    } else if input.peek(LitStr) {
        let quoted: LitStr = input.parse()?;
        let name = quoted.value();
        if input.is_empty() {
            // `#[circuit_breaker("pricing")]`: the service, without its key.
            return Err(syn::Error::new(
                quoted.span(),
                format!("the service is given with its key: write `service = {}`", quoted.to_token_stream()),
            ));
        }
        // `"threshold" = 3`: a key written as a string; echo the user's value.
        let _ = input.parse::<Token![=]>();
        let value: TokenStream = input.parse()?;
        let fix =
            if value.is_empty() { crate::validate::example(&name) } else { format!("{name} = {value}") };
        return Err(syn::Error::new(quoted.span(), format!("a key is a name, not a string: write `{fix}`")));
    } else {
        return Err(input.error("expected a key, like `service = \"payments\"`"));
    };
    if !input.peek(Token![=]) {
        return Err(syn::Error::new(
            key.span(),
            format!("expected `=` after `{key}`: write `{}`", crate::validate::example(&key.to_string())),
        ));
    }
    input.parse::<Token![=]>()?;
    if input.is_empty() {
        return Err(syn::Error::new(
            key.span(),
            format!("`{key}` has no value: write `{}`", crate::validate::example(&key.to_string())),
        ));
    }
    let value = parse_value(input)?;
    if !input.is_empty() {
        let rest: TokenStream = input.parse()?;
        return Err(syn::Error::new_spanned(
            rest,
            "unexpected tokens after the value: separate keys with `,`",
        ));
    }
    Ok(Entry { key, value })
}

fn parse_value(input: ParseStream<'_>) -> syn::Result<Value> {
    if input.peek(LitStr) {
        return Ok(Value::Str(input.parse()?));
    }
    if input.peek(LitInt) {
        return Ok(Value::Int(input.parse()?));
    }
    if input.peek(LitFloat) {
        return Ok(Value::Float(input.parse()?));
    }
    if input.peek(LitBool) {
        return Ok(Value::Bool(input.parse()?));
    }
    if input.peek(syn::token::Bracket) {
        let content;
        let bracket = syn::bracketed!(content in input);
        let paths = content.parse_terminated(Path::parse_mod_style_or_turbofish, Token![,])?;
        return Ok(Value::List(paths.into_iter().collect(), bracket.span.join()));
    }
    let fork = input.fork();
    if fork.call(Path::parse_mod_style_or_turbofish).is_ok() && fork.is_empty() {
        return Ok(Value::Path(input.call(Path::parse_mod_style_or_turbofish)?));
    }
    Ok(Value::Other(input.parse()?))
}

/// Path parsing that accepts generic arguments (`cached::<T>`, `Self::cached`).
trait ParsePath {
    fn parse_mod_style_or_turbofish(input: ParseStream<'_>) -> syn::Result<Path>;
}

impl ParsePath for Path {
    fn parse_mod_style_or_turbofish(input: ParseStream<'_>) -> syn::Result<Path> {
        let expr: syn::ExprPath = input.parse()?;
        if let Some(qself) = &expr.qself {
            return Err(syn::Error::new(
                qself.lt_token.span,
                "expected a plain path, like `module::function`",
            ));
        }
        Ok(expr.path)
    }
}
