// The body is wrapped, not inlined: `return` leaves the body with the function's
// result, `?` converts errors with `From` as in any function returning that `Result`.
use breaker_runtime::{Error, circuit_breaker};

#[derive(Debug, PartialEq)]
enum AppError {
    Parse(String),
    Breaker,
}

impl From<Error> for AppError {
    fn from(_: Error) -> Self {
        AppError::Breaker
    }
}

impl From<std::num::ParseIntError> for AppError {
    fn from(e: std::num::ParseIntError) -> Self {
        AppError::Parse(e.to_string())
    }
}

#[circuit_breaker(service = "ui-return")]
async fn parse_sum(a: &str, b: &str) -> Result<i64, AppError> {
    if a.is_empty() {
        return Ok(-1);
    }
    let a: i64 = a.parse()?;
    let b: i64 = b.parse()?;
    for _ in 0..3 {
        if a == 0 {
            return Ok(0);
        }
    }
    let closure_return = || -> Option<i64> {
        return Some(a * b);
    };
    Ok(a + b + closure_return().unwrap_or(0) - a * b)
}

#[circuit_breaker(service = "ui-return")]
async fn early(flag: bool) -> std::io::Result<&'static str> {
    if flag {
        return Ok("early");
    }
    let inner = async { Err::<(), _>(std::io::Error::other("inner")) };
    inner.await?;
    unreachable!()
}

#[circuit_breaker(service = "ui-return")]
async fn never_returns_normally() -> Result<u8, Error> {
    return Ok(7);
}

fn main() {
    futures::executor::block_on(async {
        assert_eq!(parse_sum("", "x").await, Ok(-1));
        assert_eq!(parse_sum("0", "5").await, Ok(0));
        assert_eq!(parse_sum("2", "3").await, Ok(5));
        assert_eq!(parse_sum("2", "x").await, Err(AppError::Parse("invalid digit found in string".into())));
        assert_eq!(early(true).await.unwrap(), "early");
        assert_eq!(early(false).await.unwrap_err().to_string(), "inner");
        assert_eq!(never_returns_normally().await.unwrap(), 7);
    });
}
