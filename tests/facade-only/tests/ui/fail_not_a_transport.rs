use netcore::prelude::*;

fn main() {
    // A number moves no bytes: neither a Transport nor a Pipe.
    let _ = Endpoint::builder().start(42u32);
}
