//! Benchmark baseline: a minimal axum server answering every GET with the same bytes from
//! memory. `bench_static FILE PORT`
use axum::http::header;
use axum::Router;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let file = args.next().expect("usage: bench_static FILE PORT");
    let port = args.next().expect("usage: bench_static FILE PORT");
    let body: &'static [u8] = Box::leak(
        std::fs::read(file)
            .expect("readable file")
            .into_boxed_slice(),
    );
    let app = Router::new().fallback(move || async move {
        (
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body,
        )
    });
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    axum::serve(listener, app).await.unwrap();
}
