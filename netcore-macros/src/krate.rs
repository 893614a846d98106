//! Where the generated code finds the endpoint crate.

/// The path of the endpoint crate as the calling package can name it: its
/// own dependency on `netcore-endpoint` (under whatever name), else the
/// `netcore` facade's `endpoint` module, else `::netcore_endpoint`.
///
/// The lookup reads every dependency table of the package's `Cargo.toml`,
/// dev-dependencies too: a package whose library depends on `netcore` but
/// whose tests depend on `netcore-endpoint` names the crate with
/// `crate = ::netcore::endpoint` in the attribute.
pub(crate) fn endpoint_crate() -> syn::Path {
    use proc_macro_crate::{FoundCrate, crate_name};
    let named = |name: &str| -> syn::Path {
        let ident = syn::Ident::new(name, proc_macro2::Span::call_site());
        syn::parse_quote!(::#ident)
    };
    match crate_name("netcore-endpoint") {
        // Inside netcore-endpoint: its tests, examples and doctests see it
        // as an external crate by its own name, and its library names
        // itself so (`extern crate self as netcore_endpoint`).
        Ok(FoundCrate::Itself) => return named("netcore_endpoint"),
        Ok(FoundCrate::Name(name)) => return named(&name),
        Err(_) => {}
    }
    match crate_name("netcore") {
        Ok(FoundCrate::Name(name)) => {
            let facade = named(&name);
            syn::parse_quote!(#facade::endpoint)
        }
        Ok(FoundCrate::Itself) => syn::parse_quote!(::netcore::endpoint),
        Err(_) => named("netcore_endpoint"),
    }
}
