use breaker_runtime::{CircuitBreaker, Config, Error};
async fn work(x: u64) -> Result<u64, Error> {
    Ok(x)
}
fn main() {
    let b = CircuitBreaker::new("s", Config::default()).unwrap();
    println!("call future: {}", std::mem::size_of_val(&b.call(work(1))));
    println!("work future: {}", std::mem::size_of_val(&work(1)));
    println!("sleep: {}", std::mem::size_of::<tokio::time::Sleep>());
}
