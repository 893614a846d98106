use netcore::prelude::*;

#[derive(Clone)]
struct App;

async fn hello(State(_app): State<App>) -> String {
    "hi".into()
}

fn main() {
    // The router has no state, so `State<App>` cannot be extracted.
    let _ = Router::new().route("/hello", hello);
}
