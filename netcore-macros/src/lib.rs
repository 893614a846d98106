//! # netcore-macros
//!
//! `#[derive(Route)]` turns a serde type into a typed route: its path, its
//! response type, its codec and a schema fingerprint, so that the server
//! handler and the client call can never drift apart. `#[service]` turns a
//! trait of async methods into such routes, a typed client and a function
//! serving an implementation.
//!
//! ```text
//!   #[derive(Route)] struct GetUser { … }          #[service] trait Users { async fn get(…) }
//!          │ parse attributes (path, response,            │ one request struct per method,
//!          │ codec), fingerprint the fields               │ a client struct, a serve function
//!          ▼                                              ▼
//!   impl Route for GetUser { PATH, Response, … }   routes + typed client + Routes builder
//!          │                                              │
//!          └───────── both name the endpoint crate (krate.rs) ──────────┘
//! ```
//!
//! Depend on `netcore-endpoint` (which re-exports the derive as
//! `netcore_endpoint::Route`) or on the `netcore` facade (`netcore::Route`,
//! `netcore::endpoint::Route`); the generated code names the endpoint crate
//! as the calling package's `Cargo.toml` does: `::netcore_endpoint` when it
//! depends on `netcore-endpoint` (also under another name), else
//! `::netcore::endpoint` when it depends on `netcore`, or the path given by
//! `crate = …` (for re-exports under other names).
//!
//! ```
//! use netcore_endpoint::{Endpoint, EndpointConfig, ReplyError, Route, Router};
//! use netcore_pipe::transport::memory_pair;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! struct User { id: u32, name: String }
//!
//! /// Asks for one user.
//! #[derive(Serialize, Deserialize, Route)]
//! #[route(path = "/users/get", response = User)]
//! struct GetUser { id: u32 }
//!
//! async fn get_user(request: GetUser) -> Result<User, ReplyError> {
//!     Ok(User { id: request.id, name: "ada".into() })
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let routes = Router::new().typed(get_user).build()?;
//! let (a, b) = memory_pair(64 * 1024);
//! let _server = Endpoint::new(b, routes, EndpointConfig::default());
//! let client = Endpoint::builder().start(a)?; // a client: no routes
//! // The response type follows from the request type.
//! let user = client.peer().call_typed(&GetUser { id: 7 }).await?;
//! assert_eq!(user, User { id: 7, name: "ada".into() });
//! assert_eq!(<GetUser as Route>::PATH, "/users/get");
//! # Ok(())
//! # }
//! ```
//!
//! ## The attribute
//!
//! `#[route(path = "/users/get", response = User)]`, with:
//!
//! | key | required | meaning |
//! |---|---|---|
//! | `path` | yes | the route's full path, a string starting with `/` |
//! | `response` | yes, unless the reply streams | the type the handler answers with (serde) |
//! | `stream` | no | `request` (an upload: the body streams, the route value goes in the `nc-args` header), `response` (a download: the handler answers with a `Body`) or `both` (a duplex call); see `netcore_endpoint::StreamSide` for how each is served and called |
//! | `codec` | no | `json`, the default and for now the only codec; a compact binary codec (postcard, for serial links) is future work |
//! | `crate` | no | the path of the endpoint crate, e.g. `crate = netcore::endpoint` when depending on the facade only |
//!
//! The type itself must also derive serde's `Serialize` and `Deserialize`,
//! and may not be generic or a union.
//!
//! ## The schema fingerprint
//!
//! `Route::FINGERPRINT` is a 64-bit FNV-1a hash, computed while the macro
//! expands (no run-time cost), of:
//!
//! - the path;
//! - the request type's *shape*: struct or enum, its variants' names, its
//!   fields' names and their types **as written** (tokens, whitespace
//!   ignored), and the `#[serde(...)]` attributes on the type, its variants
//!   and fields;
//! - the response type **as written** in the attribute.
//!
//! What it cannot see: a macro only reads the tokens of the item it derives,
//! so the fields *inside* a field's type or inside the response type are not
//! covered (changing `User`'s fields keeps the fingerprint; renaming `User` or
//! changing `response = User` to `response = Vec<User>` changes it), and two
//! spellings of one type (`String` and `std::string::String`) hash apart.
//! Renaming the request type itself does not change its fingerprint, since
//! the name does not travel on the wire. It is a guard against drift between
//! builds, not a proof of compatibility.
//!
//! The typed client sends the fingerprint in the `nc-schema` request header
//! (16 hex digits); a typed handler compares it with its own and answers a
//! mismatch with `ReplyCode::SCHEMA_MISMATCH`, naming the route and both
//! fingerprints. Untyped callers send no such header and are not checked.
//!
//! ## The service macro
//!
//! `#[service(prefix = "/users")]` on a trait of `async fn(&self, …) ->
//! Result<Response, Error>` methods (`Error: Into<ReplyError>`) keeps the
//! trait (its methods now return `Send` futures, so handlers can run on any
//! thread; implement them with `async fn`) and generates a module named after
//! the trait in snake case, holding:
//!
//! - one request type per method, named after it in UpperCamelCase, whose
//!   fields are the method's arguments, deriving `Route` at
//!   `{prefix}/{method}` with the method's response type;
//! - `Client`: `Client::new(peer)`, then one async method per route,
//!   returning `Result<Response, CallError>`;
//! - `serve(router, implementation)`: adds the typed routes to a router
//!   (at their full paths, which nesting that router keeps), served by the
//!   implementation, shared between requests;
//! - `PREFIX`.
//!
//! A method's bodies may stream, declared by the types it names:
//!
//! | the method | its route | the client method |
//! |---|---|---|
//! | takes an argument of type `Streamed` (at most one, anywhere among the others) | `stream = request`: the other arguments go in the `nc-args` header | takes `impl Into<Body>` in that place (a file, a stream, bytes) and returns `Result<Response, CallError>` |
//! | returns `Result<Body, E>` | `stream = response` | returns `Result<StreamedResponse, CallError>`: read it as it arrives, or save it to a file |
//! | both | `stream = both` (a duplex call) | both |
//!
//! The types are recognised by name (`Streamed`, `Body`, also as the last
//! segment of a path): a macro sees names, not types. Dropping the client's
//! `StreamedResponse` stops the implementation's stream.
//!
//! ```
//! use futures::StreamExt;
//! use netcore_endpoint::{ReplyError, Route, Router, StreamSide, Streamed, service};
//! use netcore_pipe::Body;
//!
//! #[service(prefix = "/files")]
//! trait Files {
//!     /// Stores an upload, answering its size.
//!     async fn put(&self, name: String, body: Streamed) -> Result<u64, ReplyError>;
//!     /// A download.
//!     async fn get(&self, name: String) -> Result<Body, ReplyError>;
//! }
//!
//! struct Counter;
//!
//! impl Files for Counter {
//!     async fn put(&self, _name: String, Streamed(mut body): Streamed) -> Result<u64, ReplyError> {
//!         let mut size = 0;
//!         while let Some(chunk) = body.next().await {
//!             size += chunk.map_err(|error| ReplyError::bad_request(error.to_string()))?.len() as u64;
//!         }
//!         Ok(size)
//!     }
//!     async fn get(&self, name: String) -> Result<Body, ReplyError> {
//!         Ok(Body::from(format!("the bytes of {name}")))
//!     }
//! }
//!
//! fn main() {
//!     assert_eq!(files::Put::STREAM, StreamSide::Request);
//!     assert_eq!(files::Get::STREAM, StreamSide::Response);
//!     let routes = files::serve(Router::new(), Counter).build().expect("routes");
//!     assert!(routes.contains("/files/put"));
//!     // A client: files::Client::new(peer).put("a.bin".into(), Body::file(path).await?).await?
//! }
//! ```
//!
//! The module reaches the trait's argument and response types through
//! `use super::*`, so use the macro at module level (not inside a function
//! body, whose local items a module cannot see). Methods cannot be generic,
//! and arguments are plain `name: Type` pairs of owned serde types.
//!
//! ```
//! use netcore_endpoint::{Endpoint, EndpointConfig, ReplyError, Router, service};
//! use netcore_pipe::transport::memory_pair;
//!
//! /// A calculator.
//! #[service(prefix = "/math")]
//! trait Math {
//!     /// The sum of two numbers.
//!     async fn add(&self, a: i64, b: i64) -> Result<i64, ReplyError>;
//!     /// `a / b`, refusing zero.
//!     async fn div(&self, a: i64, b: i64) -> Result<i64, ReplyError>;
//! }
//!
//! struct Calculator;
//!
//! impl Math for Calculator {
//!     async fn add(&self, a: i64, b: i64) -> Result<i64, ReplyError> {
//!         Ok(a + b)
//!     }
//!     async fn div(&self, a: i64, b: i64) -> Result<i64, ReplyError> {
//!         a.checked_div(b).ok_or_else(|| ReplyError::bad_request("division by zero"))
//!     }
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let routes = math::serve(Router::new(), Calculator).build()?;
//!     assert!(routes.contains("/math/add"));
//!     let (a, b) = memory_pair(64 * 1024);
//!     let _server = Endpoint::new(b, routes, EndpointConfig::default());
//!     let client = Endpoint::builder().start(a)?; // a client: no routes
//!     let math = math::Client::new(client.peer().clone());
//!     assert_eq!(math.add(2, 3).await?, 5);
//!     assert!(math.div(1, 0).await.is_err());
//!     Ok(())
//! }
//! ```

mod krate;
mod service;

use proc_macro::TokenStream;
use proc_macro2::{Delimiter, Span, TokenStream as TokenStream2, TokenTree};
use quote::{ToTokens, quote};
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Fields, LitStr, Path, Type};

/// Derives `netcore_endpoint::Route` for a serde type; see the
/// [crate docs](crate) for the attribute and the fingerprint.
///
/// ```
/// use netcore_endpoint::Route;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Route)]
/// #[route(path = "/math/add", response = i64)]
/// struct Add { a: i64, b: i64 }
///
/// assert_eq!(Add::PATH, "/math/add");
/// // Same path, different shape: a different fingerprint.
/// mod v2 {
///     #[derive(serde::Serialize, serde::Deserialize, netcore_endpoint::Route)]
///     #[route(path = "/math/add", response = i64)]
///     pub struct Add { pub a: i64, pub b: i64, pub c: i64 }
/// }
/// assert_ne!(Add::FINGERPRINT, <v2::Add as Route>::FINGERPRINT);
/// ```
#[proc_macro_derive(Route, attributes(route))]
pub fn derive_route(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// Turns a trait of async methods into a service: typed routes under a
/// prefix, a typed client and a function serving an implementation; see the
/// [crate docs](crate#the-service-macro) for what it generates.
///
/// ```
/// use netcore_endpoint::{ReplyError, Route, Router, service};
///
/// #[service(prefix = "/clock")]
/// trait Clock {
///     /// Seconds since the epoch.
///     async fn now(&self) -> Result<u64, ReplyError>;
/// }
///
/// struct Fixed;
/// impl Clock for Fixed {
///     async fn now(&self) -> Result<u64, ReplyError> { Ok(1_700_000_000) }
/// }
///
/// fn main() {
///     let routes = clock::serve(Router::new(), Fixed).build().expect("routes");
///     assert!(routes.contains("/clock/now"));
///     assert_eq!(<clock::Now as Route>::PATH, "/clock/now");
/// }
/// ```
#[proc_macro_attribute]
pub fn service(args: TokenStream, item: TokenStream) -> TokenStream {
    match service::expand(args.into(), item.into()) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// The parsed `#[route(...)]` attribute.
struct RouteAttr {
    path: LitStr,
    response: Type,
    /// `stream = request|response|both`, if given.
    stream: Option<syn::Ident>,
    krate: Path,
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
    if let Data::Union(union) = &input.data {
        return Err(syn::Error::new(
            union.union_token.span,
            "#[derive(Route)] cannot be used on a union: a route's request type is a struct or an enum that serde can (de)serialise",
        ));
    }
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "#[derive(Route)] does not support generic types: a route has one concrete request type, \
             so give the fields concrete types instead of type parameters",
        ));
    }
    let attr = parse_attr(input)?;
    let fingerprint = fingerprint(input, &attr);
    let name = &input.ident;
    let path = &attr.path;
    let response = &attr.response;
    let krate = &attr.krate;
    let stream = attr.stream.as_ref().map(|side| {
        let variant = match side.to_string().as_str() {
            "request" => quote!(Request),
            "response" => quote!(Response),
            _ => quote!(Both),
        };
        quote! { const STREAM: #krate::StreamSide = #krate::StreamSide::#variant; }
    });
    Ok(quote! {
        #[automatically_derived]
        impl #krate::Route for #name {
            const PATH: &'static str = #path;
            type Response = #response;
            const FINGERPRINT: u64 = #fingerprint;
            #stream
        }
    })
}

fn parse_attr(input: &DeriveInput) -> syn::Result<RouteAttr> {
    let attrs: Vec<&Attribute> = input
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("route"))
        .collect();
    let attr = match attrs.as_slice() {
        [] => {
            return Err(syn::Error::new(
                input.ident.span(),
                "#[derive(Route)] needs a #[route(path = \"/...\", response = Type)] attribute on the type",
            ));
        }
        [attr] => *attr,
        [_, second, ..] => {
            return Err(syn::Error::new(
                second.span(),
                "only one #[route(...)] attribute is allowed: put all keys in one",
            ));
        }
    };
    let mut path: Option<LitStr> = None;
    let mut response: Option<Type> = None;
    let mut codec: Option<syn::Ident> = None;
    let mut stream: Option<syn::Ident> = None;
    let mut krate: Option<Path> = None;
    attr.parse_nested_meta(|meta| {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        let duplicate = || meta.error(format!("`{key}` is given twice in #[route(...)]"));
        match key.as_str() {
            "path" => {
                if path.is_some() {
                    return Err(duplicate());
                }
                let value: LitStr = meta.value()?.parse().map_err(|error| {
                    syn::Error::new(
                        error.span(),
                        "`path` takes a string literal: path = \"/users/get\"",
                    )
                })?;
                let text = value.value();
                if !text.starts_with('/') {
                    return Err(syn::Error::new(
                        value.span(),
                        format!(
                            "a route path starts with '/': write \"/{text}\" instead of \"{text}\""
                        ),
                    ));
                }
                path = Some(value);
            }
            "response" => {
                if response.is_some() {
                    return Err(duplicate());
                }
                response = Some(meta.value()?.parse()?);
            }
            "codec" => {
                if codec.is_some() {
                    return Err(duplicate());
                }
                let value: syn::Ident = meta.value()?.parse()?;
                if value != "json" {
                    return Err(syn::Error::new(
                        value.span(),
                        format!(
                            "unknown codec `{value}`: only `json` is supported for now (a binary codec is planned)"
                        ),
                    ));
                }
                codec = Some(value);
            }
            "stream" => {
                if stream.is_some() {
                    return Err(duplicate());
                }
                let value: syn::Ident = meta.value()?.parse()?;
                if !["request", "response", "both"].contains(&value.to_string().as_str()) {
                    return Err(syn::Error::new(
                        value.span(),
                        format!(
                            "unknown stream side `{value}`: expected `request` (an upload), `response` (a download) or `both` (a duplex call)"
                        ),
                    ));
                }
                stream = Some(value);
            }
            "crate" => {
                if krate.is_some() {
                    return Err(duplicate());
                }
                krate = Some(meta.value()?.call(Path::parse_mod_style)?);
            }
            _ => {
                return Err(meta.error(format!(
                    "unknown key `{}` in #[route(...)]: expected `path`, `response`, `stream`, `codec` or `crate`",
                    meta.path.to_token_stream()
                )));
            }
        }
        Ok(())
    })?;
    let path = path.ok_or_else(|| {
        syn::Error::new_spanned(
            attr,
            "#[route(...)] is missing `path`: add path = \"/...\", the route's full path",
        )
    })?;
    let streams_response = stream
        .as_ref()
        .is_some_and(|side| side == "response" || side == "both");
    let response = match response {
        Some(response) if streams_response => {
            return Err(syn::Error::new_spanned(
                response,
                "a route whose reply streams has no `response` type: its handler answers with a Body; remove `response = ...`",
            ));
        }
        Some(response) => response,
        None if streams_response => syn::parse_quote!(()),
        None => {
            return Err(syn::Error::new_spanned(
                attr,
                "#[route(...)] is missing `response`: add response = Type, the type the handler answers with \
                 (or stream = response for a reply that streams)",
            ));
        }
    };
    let krate = krate.unwrap_or_else(krate::endpoint_crate);
    Ok(RouteAttr {
        path,
        response,
        stream,
        krate,
    })
}

/// The canonical description of the route that the fingerprint hashes.
fn schema_text(input: &DeriveInput, attr: &RouteAttr) -> String {
    let mut text = String::from("netcore-route-v1\npath ");
    text.push_str(&attr.path.value());
    text.push_str("\nrequest ");
    text.push_str(&serde_attrs(&input.attrs));
    match &input.data {
        Data::Struct(data) => {
            text.push_str("struct ");
            text.push_str(&fields_text(&data.fields));
        }
        Data::Enum(data) => {
            text.push_str("enum {");
            for variant in &data.variants {
                text.push_str(&serde_attrs(&variant.attrs));
                text.push_str(&variant.ident.to_string());
                text.push(' ');
                text.push_str(&fields_text(&variant.fields));
                text.push(';');
            }
            text.push('}');
        }
        Data::Union(_) => text.push_str("union"),
    }
    text.push_str("\nresponse ");
    text.push_str(&canonical(attr.response.to_token_stream()));
    // Only when given, so the fingerprints of routes without it stay.
    if let Some(side) = &attr.stream {
        text.push_str("\nstream ");
        text.push_str(&side.to_string());
    }
    text
}

fn fields_text(fields: &Fields) -> String {
    let mut text = String::new();
    let (open, close) = match fields {
        Fields::Named(_) => ('{', '}'),
        Fields::Unnamed(_) => ('(', ')'),
        Fields::Unit => return "unit".to_owned(),
    };
    text.push(open);
    for field in fields {
        text.push_str(&serde_attrs(&field.attrs));
        if let Some(ident) = &field.ident {
            text.push_str(&ident.to_string());
            text.push(':');
        }
        text.push_str(&canonical(field.ty.to_token_stream()));
        text.push(',');
    }
    text.push(close);
    text
}

/// The `#[serde(...)]` attributes, which change what travels on the wire.
fn serde_attrs(attrs: &[Attribute]) -> String {
    attrs
        .iter()
        .filter(|attr| attr.path().is_ident("serde"))
        .map(|attr| format!("#[{}]", canonical(attr.meta.to_token_stream())))
        .collect()
}

/// Tokens joined by single spaces: independent of how the source is laid out.
fn canonical(tokens: TokenStream2) -> String {
    let mut out = Vec::new();
    for token in tokens {
        match token {
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::None => ("", ""),
                };
                out.push(format!("{open}{}{close}", canonical(group.stream())));
            }
            TokenTree::Ident(ident) => out.push(ident.to_string()),
            TokenTree::Punct(punct) => out.push(punct.as_char().to_string()),
            TokenTree::Literal(literal) => out.push(literal.to_string()),
        }
    }
    out.join(" ")
}

/// 64-bit FNV-1a.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn fingerprint(input: &DeriveInput, attr: &RouteAttr) -> syn::LitInt {
    let hash = fnv1a(schema_text(input, attr).as_bytes());
    syn::LitInt::new(&format!("{hash:#018x}_u64"), Span::call_site())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(source: TokenStream2) -> String {
        let input: DeriveInput = syn::parse2(source).expect("parses");
        let attr = parse_attr(&input).expect("attribute");
        schema_text(&input, &attr)
    }

    #[test]
    fn fnv1a_matches_the_reference_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn the_schema_text_ignores_layout_and_the_type_name() {
        let a = text_of(quote! {
            #[route(path = "/a", response = Vec<u8>)]
            struct A { x: Option<u32>, #[serde(default)] y: String }
        });
        let b = text_of(quote! {
            #[route(response = Vec < u8 >, path = "/a")]
            struct B {
                x: Option < u32 >,
                #[serde(default)]
                y: String,
            }
        });
        assert_eq!(a, b);
        assert_eq!(
            a,
            "netcore-route-v1\npath /a\nrequest struct {x:Option < u32 >,#[serde (default)]y:String,}\nresponse Vec < u8 >"
        );
    }

    #[test]
    fn the_schema_text_sees_fields_variants_and_serde_attributes() {
        let base =
            text_of(quote! { #[route(path = "/a", response = u8)] enum E { A(u8), B { x: u8 } } });
        for other in [
            quote! { #[route(path = "/a", response = u8)] enum E { A(u16), B { x: u8 } } },
            quote! { #[route(path = "/a", response = u8)] enum E { A(u8), C { x: u8 } } },
            quote! { #[route(path = "/a", response = u8)] enum E { A(u8), B { y: u8 } } },
            quote! { #[route(path = "/b", response = u8)] enum E { A(u8), B { x: u8 } } },
            quote! { #[route(path = "/a", response = u16)] enum E { A(u8), B { x: u8 } } },
            quote! { #[route(path = "/a", response = u8)] #[serde(tag = "t")] enum E { A(u8), B { x: u8 } } },
        ] {
            assert_ne!(base, text_of(other));
        }
    }
}
