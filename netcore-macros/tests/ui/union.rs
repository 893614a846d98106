#[derive(netcore_endpoint::Route)]
#[route(path = "/bits", response = u32)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
