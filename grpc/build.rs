//! Compiles `proto/echo.proto` without a system `protoc`: protox parses it in Rust,
//! tonic-prost-build writes the messages, the clients and the servers.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fds = protox::compile(["proto/echo.proto"], ["proto"])?;
    tonic_prost_build::configure().compile_fds(fds)?;
    println!("cargo:rerun-if-changed=proto/echo.proto");
    Ok(())
}
