use netcore_endpoint::{ReplyError, Router};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct User {
    name: String,
}

#[derive(Serialize, Deserialize, netcore_endpoint::Route)]
#[route(path = "/users/get", response = User)]
struct GetUser {
    id: u32,
}

// Answers with a String, but the route says `response = User`.
async fn get_user(request: GetUser) -> Result<String, ReplyError> {
    Ok(request.id.to_string())
}

fn main() {
    let _router = Router::new().typed(get_user);
}
