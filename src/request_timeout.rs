//! The limit on a request's handling ([`crate::limits::REQUEST_TIMEOUT`]): a request still
//! unanswered after it gets a 408.
//!
//! Written by hand in place of `tower_http`'s `TimeoutLayer`, which sets a timer for every
//! request: most are answered within their first poll (a GET served from memory or read
//! straight from the SQLite file never waits), and those need no timer at all. The deadline
//! is fixed when the request arrives; the timer is set only once the handling first waits.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use tokio::time::{Instant, Sleep};

/// See the module's documentation.
#[derive(Debug, Clone, Copy)]
pub struct RequestTimeoutLayer(pub Duration);

impl<S> tower::Layer<S> for RequestTimeoutLayer {
    type Service = RequestTimeout<S>;

    fn layer(&self, inner: S) -> RequestTimeout<S> {
        RequestTimeout {
            inner,
            limit: self.0,
        }
    }
}

/// See [`RequestTimeoutLayer`].
#[derive(Debug, Clone)]
pub struct RequestTimeout<S> {
    inner: S,
    limit: Duration,
}

impl<S> tower::Service<Request> for RequestTimeout<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = TimeoutFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        TimeoutFuture {
            deadline: Instant::now() + self.limit,
            inner: self.inner.call(request),
            timer: None,
        }
    }
}

pin_project_lite::pin_project! {
    /// See [`RequestTimeoutLayer`].
    pub struct TimeoutFuture<F> {
        #[pin]
        inner: F,
        deadline: Instant,
        #[pin]
        timer: Option<Sleep>,
    }
}

impl<F, E> Future for TimeoutFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Poll::Ready(answer) = this.inner.poll(cx) {
            return Poll::Ready(answer);
        }
        if this.timer.is_none() {
            this.timer
                .set(Some(tokio::time::sleep_until(*this.deadline)));
        }
        match this.timer.as_pin_mut().map(|timer| timer.poll(cx)) {
            Some(Poll::Ready(())) => {
                let mut response = Response::new(Body::empty());
                *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
                Poll::Ready(Ok(response))
            }
            _ => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use tower::{service_fn, Layer, ServiceExt};

    use super::*;

    fn answering_after(
        wait: Duration,
    ) -> impl tower::Service<Request, Response = Response, Error = Infallible> {
        RequestTimeoutLayer(Duration::from_secs(30)).layer(service_fn(
            move |_req: Request| async move {
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                Ok::<_, Infallible>(Response::new(Body::from("done")))
            },
        ))
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_answered_in_time_keeps_its_answer_and_a_late_one_gets_a_408() {
        let request = || Request::new(Body::empty());
        let now = answering_after(Duration::ZERO)
            .oneshot(request())
            .await
            .unwrap();
        assert_eq!(now.status(), StatusCode::OK);
        let waited = answering_after(Duration::from_secs(29))
            .oneshot(request())
            .await
            .unwrap();
        assert_eq!(waited.status(), StatusCode::OK);
        let started = Instant::now();
        let late = answering_after(Duration::from_secs(31))
            .oneshot(request())
            .await
            .unwrap();
        assert_eq!(late.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(30),
            "at the deadline"
        );
    }
}
