//! What the generated code wraps a body in: the future of an `async fn`
//! ([`traced`]), the runner of a plain `fn` ([`run_sync`]), and their step and
//! stream variants. Each ends the call through a [`Finish`].

use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::Poll;

use super::CallState;
use crate::capture::StepProbe;
use crate::capture::{Enricher, LlmResponse};

/// How a call's output is read when it ends, and what the wrapper returns.
pub trait Finish<O> {
    /// What the instrumented function returns.
    type Output;
    /// Ends the call (when something listens) with `output`.
    fn finish(self, state: Option<Box<CallState>>, output: O) -> Self::Output;
}

/// A model call: the output is read through [`LlmResponse`].
pub struct LlmFinish<O>(Option<Enricher<O>>);

impl<O: LlmResponse> Finish<O> for LlmFinish<O> {
    type Output = O;
    fn finish(self, state: Option<Box<CallState>>, output: O) -> O {
        if let Some(state) = state {
            state.finish(&output, self.0);
        }
        output
    }
}

/// A step: only whether the output is an error is read.
pub struct StepFinish<O>(Option<StepProbe<O>>);

impl<O> Finish<O> for StepFinish<O> {
    type Output = O;
    fn finish(self, state: Option<Box<CallState>>, output: O) -> O {
        if let Some(state) = state {
            state.finish_step(&output, self.0);
        }
        output
    }
}

/// A streaming call: the output's stream is wrapped, and the call ends with
/// the stream.
pub struct StreamFinish<W>(W);

impl<O, R, W: FnOnce(Option<Box<CallState>>, O) -> R> Finish<O> for StreamFinish<W> {
    type Output = R;
    fn finish(self, state: Option<Box<CallState>>, output: O) -> R {
        (self.0)(state, output)
    }
}

pin_project_lite::pin_project! {
    /// The future of an instrumented `async fn` that something listens to
    /// (or of a streaming one, always).
    #[must_use = "futures do nothing unless polled"]
    pub struct Traced<F, H> {
        state: Option<Box<CallState>>,
        finish: Option<H>,
        #[pin]
        inner: F,
    }
}

impl<F, H> Future for Traced<F, H>
where
    F: Future,
    H: Finish<F::Output>,
{
    type Output = H::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let polled = match this.state.as_ref() {
            Some(state) => {
                let _context = state.context.enter();
                let _entered = state.span.enter();
                #[cfg(feature = "_middleware")]
                let _seen = state.enter_seen();
                catch_unwind(AssertUnwindSafe(|| this.inner.poll(cx)))
            }
            None => Ok(this.inner.poll(cx)),
        };
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => {
                let finish = this
                    .finish
                    .take()
                    .expect("`Traced` polled after it completed");
                Poll::Ready(finish.finish(this.state.take(), output))
            }
            Err(payload) => {
                if let Some(state) = this.state.take() {
                    state.finish_panic(&*payload);
                }
                resume_unwind(payload)
            }
        }
    }
}

/// Wraps the body's future of an instrumented `async fn` (a model call).
#[inline]
pub fn traced<F>(
    state: Option<Box<CallState>>,
    enrich: Option<Enricher<F::Output>>,
    inner: F,
) -> Traced<F, LlmFinish<F::Output>>
where
    F: Future,
    F::Output: LlmResponse,
{
    Traced {
        state,
        finish: Some(LlmFinish(enrich)),
        inner,
    }
}

/// Wraps the body's future of an instrumented `async fn` step.
#[inline]
pub fn traced_step<F>(
    state: Option<Box<CallState>>,
    probe: Option<StepProbe<F::Output>>,
    inner: F,
) -> Traced<F, StepFinish<F::Output>>
where
    F: Future,
{
    Traced {
        state,
        finish: Some(StepFinish(probe)),
        inner,
    }
}

/// Wraps the body's future of an instrumented `async fn` that returns a
/// stream: `wrap` puts the stream (and the call) in a `TracedStream`.
#[inline]
pub fn traced_stream<F, W, R>(
    state: Option<Box<CallState>>,
    wrap: W,
    inner: F,
) -> Traced<F, StreamFinish<W>>
where
    F: Future,
    W: FnOnce(Option<Box<CallState>>, F::Output) -> R,
{
    Traced {
        state,
        finish: Some(StreamFinish(wrap)),
        inner,
    }
}

/// Runs the body of an instrumented plain `fn` (a model call).
#[inline]
pub fn run_sync<R: LlmResponse>(
    state: Option<Box<CallState>>,
    enrich: Option<Enricher<R>>,
    body: impl FnOnce() -> R,
) -> R {
    match state {
        None => body(),
        Some(state) => run_active(state, LlmFinish(enrich), body),
    }
}

/// Runs the body of an instrumented plain `fn` step.
#[inline]
pub fn run_step<R>(
    state: Option<Box<CallState>>,
    probe: Option<StepProbe<R>>,
    body: impl FnOnce() -> R,
) -> R {
    match state {
        None => body(),
        Some(state) => run_active(state, StepFinish(probe), body),
    }
}

/// Runs the body of an instrumented plain `fn` that returns a stream.
#[inline]
pub fn run_stream<O, R>(
    state: Option<Box<CallState>>,
    wrap: impl FnOnce(Option<Box<CallState>>, O) -> R,
    body: impl FnOnce() -> O,
) -> R {
    match state {
        None => wrap(None, body()),
        Some(state) => run_active(state, StreamFinish(wrap), body),
    }
}

#[inline(never)]
fn run_active<R, H: Finish<R>>(
    state: Box<CallState>,
    finish: H,
    body: impl FnOnce() -> R,
) -> H::Output {
    let result = {
        let _context = state.context.enter();
        let _entered = state.span.enter();
        #[cfg(feature = "_middleware")]
        let _seen = state.enter_seen();
        catch_unwind(AssertUnwindSafe(body))
    };
    match result {
        Ok(output) => finish.finish(Some(state), output),
        Err(payload) => {
            state.finish_panic(&*payload);
            resume_unwind(payload)
        }
    }
}
