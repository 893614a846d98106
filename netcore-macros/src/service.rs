//! `#[service]`: a trait of async methods becomes typed routes, a client and
//! a function that serves an implementation.

use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    FnArg, GenericArgument, Ident, ItemTrait, LitStr, Pat, Path, PathArguments, ReturnType, Token,
    TraitItem, TraitItemFn, Type,
};

/// The `#[service(...)]` arguments.
struct ServiceArgs {
    prefix: LitStr,
    krate: Path,
}

fn parse_args(args: TokenStream2) -> syn::Result<ServiceArgs> {
    let mut prefix: Option<LitStr> = None;
    let mut krate: Option<Path> = None;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("prefix") {
            if prefix.is_some() {
                return Err(meta.error("`prefix` is given twice in #[service(...)]"));
            }
            let value: LitStr = meta.value()?.parse()?;
            let text = value.value();
            if !text.starts_with('/') || text.ends_with('/') {
                return Err(syn::Error::new(
                    value.span(),
                    "a service prefix starts with '/' and does not end with one, e.g. \"/users\"",
                ));
            }
            prefix = Some(value);
            Ok(())
        } else if meta.path.is_ident("crate") {
            krate = Some(meta.value()?.call(Path::parse_mod_style)?);
            Ok(())
        } else {
            Err(meta.error("unknown key in #[service(...)]: expected `prefix` or `crate`"))
        }
    });
    parser.parse2(args)?;
    let prefix = prefix.ok_or_else(|| {
        syn::Error::new(
            Span::call_site(),
            "#[service] needs a prefix for its routes: #[service(prefix = \"/users\")]",
        )
    })?;
    Ok(ServiceArgs {
        prefix,
        krate: krate.unwrap_or_else(crate::krate::endpoint_crate),
    })
}

/// One method of the service.
struct Method {
    name: Ident,
    /// The request struct's name (UpperCamelCase of the method).
    request: Ident,
    /// The arguments that become the request's fields (the streamed body
    /// argument is not one of them).
    args: Vec<(Ident, Type)>,
    /// The argument of type `Streamed`, if the request body streams, and
    /// its position among all the arguments.
    upload: Option<(usize, Ident)>,
    /// The `Ok` type; `Body` when the reply streams.
    response: Type,
    /// Whether the method answers with a `Body` (the reply streams).
    download: bool,
    error: Type,
    output: Type,
}

impl Method {
    /// The `stream = …` value of the request's route, if any.
    fn stream_side(&self) -> Option<&'static str> {
        match (self.upload.is_some(), self.download) {
            (false, false) => None,
            (true, false) => Some("request"),
            (false, true) => Some("response"),
            (true, true) => Some("both"),
        }
    }
}

pub(crate) fn expand(args: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let mut item: ItemTrait = syn::parse2(item.clone()).map_err(|_| {
        let span = item
            .clone()
            .into_iter()
            .find(|token| matches!(token, proc_macro2::TokenTree::Ident(_)))
            .map_or_else(Span::call_site, |token| token.span());
        syn::Error::new(
            span,
            "#[service] goes on a trait of async methods, e.g. \
             `trait Users { async fn get(&self, id: u32) -> Result<User, ReplyError>; }`",
        )
    })?;
    let args = parse_args(args)?;
    if !item.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &item.generics,
            "#[service] does not support generic traits: its routes need concrete types",
        ));
    }
    let krate = &args.krate;
    let mut methods = Vec::new();
    for trait_item in &mut item.items {
        let TraitItem::Fn(function) = trait_item else {
            return Err(syn::Error::new(
                trait_item.span(),
                "a #[service] trait holds only async methods",
            ));
        };
        methods.push(method(function)?);
        rewrite(function);
    }
    item.supertraits
        .push(syn::parse_quote!(::core::marker::Send));
    item.supertraits
        .push(syn::parse_quote!(::core::marker::Sync));
    item.supertraits.push(syn::parse_quote!('static));
    if item.colon_token.is_none() {
        item.colon_token = Some(Default::default());
    }

    let vis = &item.vis;
    // The generated module's items are visible where the trait is.
    let item_vis: TokenStream2 = match vis {
        syn::Visibility::Public(_) => quote!(pub),
        syn::Visibility::Inherited => quote!(pub(super)),
        syn::Visibility::Restricted(_) => quote!(pub(crate)),
    };
    let trait_name = &item.ident;
    let module = format_ident!("{}", snake_case(&trait_name.to_string()));
    let prefix = &args.prefix;
    let serde_path = quote!(#krate::__private::serde).to_string();
    let mut structs = Vec::new();
    let mut client_methods = Vec::new();
    let mut routes = Vec::new();
    for method in &methods {
        let Method {
            name,
            request,
            args: fields,
            upload,
            response,
            error,
            output,
            ..
        } = method;
        let path = LitStr::new(&format!("{}/{}", prefix.value(), name), prefix.span());
        let field_names: Vec<&Ident> = fields.iter().map(|(name, _)| name).collect();
        let field_types: Vec<&Type> = fields.iter().map(|(_, ty)| ty).collect();
        let doc = format!(
            "The request of [`{trait_name}::{name}`](super::{trait_name}::{name}), at `{}`.",
            path.value()
        );
        let derive_input: syn::DeriveInput = match method.stream_side() {
            None => syn::parse_quote! {
                #[route(crate = #krate, path = #path, response = #response)]
                pub struct #request { #(pub #field_names: #field_types,)* }
            },
            Some("response") => syn::parse_quote! {
                #[route(crate = #krate, path = #path, stream = response)]
                pub struct #request { #(pub #field_names: #field_types,)* }
            },
            Some("request") => syn::parse_quote! {
                #[route(crate = #krate, path = #path, response = #response, stream = request)]
                pub struct #request { #(pub #field_names: #field_types,)* }
            },
            Some(_) => syn::parse_quote! {
                #[route(crate = #krate, path = #path, stream = both)]
                pub struct #request { #(pub #field_names: #field_types,)* }
            },
        };
        let route_impl = crate::expand(&derive_input)?;
        structs.push(quote! {
            #[doc = #doc]
            #[derive(#krate::__private::serde::Serialize, #krate::__private::serde::Deserialize)]
            #[serde(crate = #serde_path)]
            #[allow(missing_docs)]
            #item_vis struct #request { #(#item_vis #field_names: #field_types,)* }
            #route_impl
        });

        // The client method's parameters, in the trait's order, the
        // streamed body taken as anything that makes a `Body`.
        let mut params: Vec<TokenStream2> =
            fields.iter().map(|(name, ty)| quote!(#name: #ty)).collect();
        // The trait method's arguments, in its order, from the decoded
        // request and the body stream.
        let mut call_args: Vec<TokenStream2> = field_names
            .iter()
            .map(|name| quote!(request.#name))
            .collect();
        if let Some((position, body)) = upload {
            params.insert(
                *position,
                quote!(#body: impl ::core::convert::Into<#krate::__private::Body>),
            );
            call_args.insert(*position, quote!(streamed));
        }
        let value = quote!(&#request { #(#field_names,)* });
        let options = quote!(#krate::CallOptions::default());
        let (client_response, client_call) = match (upload, method.download) {
            (None, false) => (
                quote!(#response),
                quote!(self.peer.call_typed(#value).await),
            ),
            (Some((_, body)), false) => (
                quote!(#response),
                quote!(self.peer.call_typed_upload(#value, #body, #options).await),
            ),
            (None, true) => (
                quote!(#krate::StreamedResponse),
                quote!(self.peer.call_typed_download(#value, #options).await),
            ),
            (Some((_, body)), true) => (
                quote!(#krate::StreamedResponse),
                quote!(self.peer.call_typed_duplex(#value, #body, #options).await),
            ),
        };
        let client_doc = match (upload, method.download) {
            (None, false) => format!(
                "Calls [`{trait_name}::{name}`](super::{trait_name}::{name}) at the peer (`{}`).",
                path.value()
            ),
            (Some((_, body)), false) => format!(
                "Calls [`{trait_name}::{name}`](super::{trait_name}::{name}) at the peer (`{}`), \
                 streaming `{body}` (a file, a stream or bytes) as the request body.",
                path.value()
            ),
            (None, true) => format!(
                "Calls [`{trait_name}::{name}`](super::{trait_name}::{name}) at the peer (`{}`); \
                 the reply streams: read it as it arrives.",
                path.value()
            ),
            (Some((_, body)), true) => format!(
                "Calls [`{trait_name}::{name}`](super::{trait_name}::{name}) at the peer (`{}`), \
                 streaming `{body}` up while the reply streams down.",
                path.value()
            ),
        };
        client_methods.push(quote! {
            #[doc = #client_doc]
            #item_vis async fn #name(&self, #(#params),*)
                -> ::core::result::Result<#client_response, #krate::CallError>
            {
                #client_call
            }
        });
        let register = if method.download {
            quote!(typed_stream)
        } else {
            quote!(typed)
        };
        let closure_args = if upload.is_some() {
            quote!(request: #request, streamed: #krate::Streamed)
        } else {
            quote!(request: #request)
        };
        routes.push(quote! {
            let service = ::std::sync::Arc::clone(&shared);
            let router = router.#register(move |#closure_args| {
                let service = ::std::sync::Arc::clone(&service);
                async move {
                    let result: #output = service.#name(#(#call_args),*).await;
                    result.map_err(|error: #error| -> #krate::ReplyError { error.into() })
                }
            });
        });
    }
    let client_doc = format!(
        "A typed client of the [`{trait_name}`](super::{trait_name}) service: one method per \
         route, over a [`Peer`]({}::Peer).",
        quote!(#krate).to_string().replace(' ', "")
    );
    let module_doc = format!(
        "The routes of the [`{trait_name}`](super::{trait_name}) service under `{}`: one request type per method, \
         a [`Client`](self::Client) and [`serve`](self::serve).",
        prefix.value()
    );
    Ok(quote! {
        #item

        #[doc = #module_doc]
        #vis mod #module {
            #[allow(unused_imports)]
            use super::*;

            /// The prefix of the service's routes.
            #item_vis const PREFIX: &str = #prefix;

            #(#structs)*

            #[doc = #client_doc]
            #[derive(Debug, Clone)]
            #item_vis struct Client {
                peer: #krate::Peer,
            }

            impl Client {
                /// A client calling the service at this peer.
                #item_vis fn new(peer: #krate::Peer) -> Self {
                    Client { peer }
                }

                #(#client_methods)*
            }

            /// Adds the service's typed routes (under [`PREFIX`]) to `router`,
            /// served by `service`. The routes keep their full paths (as the
            /// client calls them) even if `router` is nested as a blueprint.
            #item_vis fn serve<S, T>(router: #krate::Router<S>, service: T) -> #krate::Router<S>
            where
                S: ::core::clone::Clone + ::core::marker::Send + ::core::marker::Sync + 'static,
                T: super::#trait_name,
            {
                let shared = ::std::sync::Arc::new(service);
                let _ = &shared;
                #(#routes)*
                router
            }
        }
    })
}

fn method(function: &TraitItemFn) -> syn::Result<Method> {
    let signature = &function.sig;
    if signature.asyncness.is_none() {
        return Err(syn::Error::new(
            signature.fn_token.span,
            "a #[service] method is an `async fn`",
        ));
    }
    if !signature.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &signature.generics,
            "a #[service] method cannot be generic: its request and response types must be concrete",
        ));
    }
    let mut inputs = signature.inputs.iter();
    match inputs.next() {
        Some(FnArg::Receiver(receiver))
            if receiver.reference.is_some() && receiver.mutability.is_none() => {}
        _ => {
            return Err(syn::Error::new(
                signature.ident.span(),
                "a #[service] method takes `&self` first (implementations are shared between requests)",
            ));
        }
    }
    let mut args = Vec::new();
    let mut upload: Option<(usize, Ident)> = None;
    for (position, input) in inputs.enumerate() {
        let FnArg::Typed(typed) = input else {
            return Err(syn::Error::new(input.span(), "unexpected receiver"));
        };
        let Pat::Ident(pat) = &*typed.pat else {
            return Err(syn::Error::new(
                typed.pat.span(),
                "a #[service] method's arguments are plain names (`id: u32`): they become the request's fields",
            ));
        };
        if is_named(&typed.ty, "Streamed") {
            if upload.is_some() {
                return Err(syn::Error::new(
                    typed.ty.span(),
                    "a #[service] method takes at most one `Streamed` argument: a request has one body",
                ));
            }
            upload = Some((position, pat.ident.clone()));
        } else {
            args.push((pat.ident.clone(), (*typed.ty).clone()));
        }
    }
    let ReturnType::Type(_, output) = &signature.output else {
        return Err(syn::Error::new(
            signature.ident.span(),
            "a #[service] method returns `Result<Response, Error>` (Error converting into ReplyError)",
        ));
    };
    let (response, error) = result_types(output).ok_or_else(|| {
        syn::Error::new(
            output.span(),
            "a #[service] method returns `Result<Response, Error>` (Error converting into ReplyError)",
        )
    })?;
    let download = is_named(&response, "Body");
    Ok(Method {
        name: signature.ident.clone(),
        request: format_ident!("{}", camel_case(&signature.ident.to_string())),
        args,
        upload,
        response,
        download,
        error,
        output: (**output).clone(),
    })
}

/// Whether `ty` is a path whose last segment is `name` without generic
/// arguments (`Streamed`, `netcore_endpoint::Streamed`): a macro sees names,
/// not types, so the streamed body types are recognised by name.
fn is_named(ty: &Type, name: &str) -> bool {
    let Type::Path(path) = ty else { return false };
    path.qself.is_none()
        && path
            .path
            .segments
            .last()
            .is_some_and(|last| last.ident == name && last.arguments.is_none())
}

/// `Result<A, B>` (by its last path segment) → `(A, B)`.
fn result_types(ty: &Type) -> Option<(Type, Type)> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(arguments) = &last.arguments else {
        return None;
    };
    let types: Punctuated<Type, Token![,]> = arguments
        .args
        .iter()
        .filter_map(|argument| match argument {
            GenericArgument::Type(ty) => Some(ty.clone()),
            _ => None,
        })
        .collect();
    match (types.len(), types.first(), types.last()) {
        (2, Some(a), Some(b)) => Some((a.clone(), b.clone())),
        _ => None,
    }
}

/// `async fn f(..) -> T` → `fn f(..) -> impl Future<Output = T> + Send`, so
/// that handlers' futures are `Send`; a default body becomes an async block.
fn rewrite(function: &mut TraitItemFn) {
    let signature = &mut function.sig;
    signature.asyncness = None;
    let output = match &signature.output {
        ReturnType::Type(_, ty) => quote!(#ty),
        ReturnType::Default => quote!(()),
    };
    signature.output = syn::parse_quote! {
        -> impl ::core::future::Future<Output = #output> + ::core::marker::Send
    };
    if let Some(body) = &mut function.default {
        let block = body.clone();
        *body = syn::parse_quote!({ async move #block });
    }
}

fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn camel_case(name: &str) -> String {
    name.split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_convert() {
        assert_eq!(snake_case("UserStore"), "user_store");
        assert_eq!(snake_case("Users"), "users");
        assert_eq!(camel_case("get_user"), "GetUser");
        assert_eq!(camel_case("get"), "Get");
    }
}
