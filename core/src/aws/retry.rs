//! How bbws retries AWS calls, and how it knows how often it tried.
//!
//! **Standard, not adaptive.** Both retry modes back off exponentially with
//! jitter on throttling, 5xx answers and transient network errors, and both
//! keep a retry quota. Adaptive adds a client-side rate limiter, which the
//! AWS SDKs reference guide recommends only for a client that reaches a
//! single throttled resource: "if you use the same client for two
//! resources, throttling in one resource can delay requests to unrelated
//! resources", and the Rust SDK marks it experimental. bbws has one client
//! per service for every tenant and every operation (ECS's
//! `DescribeServices` is throttled apart from its `RegisterTaskDefinition`),
//! so one throttled API would slow all of them; AWS throttles per account,
//! region and API action, and the standard mode's backoff per call is what
//! fits that. The AWS provider makes the same choice (standard by default).
//!
//! **How many.** [`DEFAULT_MAX_RETRIES`] retries (provider `max_retries`)
//! ride out a throttled account: the backoff grows to 20 s, so eight
//! retries wait about 45 s in all (90 s at most). Each attempt has its own
//! timeout and the whole call one sized by its retries
//! ([`operation_timeout`]).
//!
//! **No client-side retry quota.** The standard mode also keeps a retry
//! quota per client (500 tokens, 5 a throttled retry, returned only when
//! the call at last succeeds): a circuit breaker for an outage, but under
//! throttling that is only rate, ten concurrent tenant creates drain it and
//! calls then fail after a few attempts instead of `max_retries` — 30
//! tenants at `-parallelism=10` through AWS's rates (`tests/throttling.rs`)
//! lost a tenant to Route53 "throttled 5 times" with `max_retries = 8`.
//! Every client gets a retry partition of its own with an unlimited bucket
//! (`retry_partition`), as the AWS provider does (`ratelimit.None`, its
//! issue #36024); `max_retries` and the operation timeout are the bounds.
//!
//! **Refused connections are not retried**: nothing listens at the
//! endpoint (a wrong override, an emulator that is down), and AWS never
//! refuses a connection, so backing off would only make a misconfiguration
//! slow to report. The error is still transient (running again may work).
//!
//! **Creates without a unique name** (RegisterTaskDefinition,
//! CreateAccessPoint) are retried by the port, not the SDK, so that a lost
//! answer is looked for before the next attempt (`create_unduplicated`):
//! with the same number of attempts and the same backoff as the SDK's.
//!
//! **Attempts are counted**: `AttemptCounter` writes the number of
//! attempts into the final answer's headers (`ATTEMPTS_HEADER`), so that
//! an error can say "AWS throttled this call 9 times" (`aws/error.rs`).

use std::error::Error as StdError;
use std::time::Duration;

use aws_config::retry::RetryConfig;
// Every SDK crate re-exports the one aws-smithy-runtime type.
use aws_sdk_sts::config::retry::{RetryPartition, TokenBucket};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{FinalizerInterceptorContextMut, InterceptorContext};
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction, RetryClassifierPriority};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::ports::PortResult;

/// Retries after the first attempt when `max_retries` is not set.
pub const DEFAULT_MAX_RETRIES: u32 = 8;

/// Seconds to establish a TCP/TLS connection before giving up.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Seconds one attempt of one call may take.
pub(crate) const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);
/// The longest any one call may take, retries included.
const MAX_OPERATION_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The response header [`AttemptCounter`] writes.
pub(crate) const ATTEMPTS_HEADER: &str = "x-bbws-attempts";

/// The SDK's standard retry mode with `max_retries` retries after the first
/// attempt (default [`DEFAULT_MAX_RETRIES`]).
pub fn retry_config(max_retries: Option<u32>) -> RetryConfig {
    let retries = max_retries.unwrap_or(DEFAULT_MAX_RETRIES);
    RetryConfig::standard().with_max_attempts(retries.saturating_add(1))
}

/// The retry partition of one service's client: its own, with no retry
/// quota (see the module).
pub(crate) fn retry_partition(service: &'static str) -> RetryPartition {
    RetryPartition::custom(format!("bbws-{service}"))
        .token_bucket(TokenBucket::unlimited())
        .build()
}

/// Attempts of a create that has no unique name (RegisterTaskDefinition,
/// CreateAccessPoint), which the port makes itself instead of the SDK: as
/// many as the client's SDK calls get (`max_retries` + 1).
pub(crate) fn unnamed_create_attempts(client_retries: Option<&RetryConfig>) -> u32 {
    client_retries
        .map_or(DEFAULT_MAX_RETRIES + 1, RetryConfig::max_attempts)
        .max(1)
}

/// What a create without a unique name came to: the service's answer, or
/// what an earlier attempt of this run made (its answer was lost).
pub(crate) enum Created<R, T> {
    /// The answer to this attempt.
    Answered(R),
    /// Found after a failed attempt.
    Found(T),
}

/// Sends a create that has no unique name (the request itself sent with
/// the SDK's retries off): after each failure that may have run (not a
/// throttling refusal), `find` looks for what this run made before the
/// next attempt, so a lost answer never makes a second one. Retryable
/// failures are tried `attempts` times ([`unnamed_create_attempts`]).
///
/// `one_at_a_time`: the creates sharing it are made one after another
/// (each with its retries). For an action whose rate is a single small
/// bucket (ECS's RegisterTaskDefinition: a burst of 20, then 1 a second),
/// concurrent creates of one process would otherwise spend each other's
/// attempts on it: of 100 at once, about 20 fail after their 9 attempts
/// (simulated on that bucket), while one at a time all finish in about the
/// same time, the bucket's (`a_shared_turn_rides_out_a_slow_bucket`).
pub(crate) async fn create_unduplicated<R, T, S, SF, F, FF>(
    attempts: u32,
    one_at_a_time: Option<&tokio::sync::Mutex<()>>,
    mut send: S,
    mut find: F,
) -> PortResult<Created<R, T>>
where
    S: FnMut() -> SF,
    SF: std::future::Future<Output = PortResult<R>>,
    F: FnMut() -> FF,
    FF: std::future::Future<Output = Option<T>>,
{
    let _turn = match one_at_a_time {
        Some(turn) => Some(turn.lock().await),
        None => None,
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let e = match send().await {
            Ok(r) => return Ok(Created::Answered(r)),
            Err(e) => e,
        };
        // A throttled request was turned away before it ran: nothing was
        // made, so there is nothing to look for (a look-up after each of
        // ECS's one-a-second RegisterTaskDefinition refusals was a read per
        // refusal, about one per tenant of a fleet create).
        if !e.is_throttling()
            && let Some(made) = find().await
        {
            return Ok(Created::Found(made));
        }
        if !e.is_retryable() || attempt >= attempts {
            // Each attempt was one SDK call: the count is the port's.
            return Err(e.with_attempts(attempt));
        }
        backoff(attempt).await;
    }
}

/// Waits before attempt `attempt + 1` of a create the port retries itself,
/// as the SDK's standard mode waits for every other call: exponential from
/// 1 s, capped at 20 s, with full jitter. (A shorter backoff gave up on
/// ECS's RegisterTaskDefinition, 1 a second, while the rest of a fleet
/// create still rode its throttling out: 13 of 100 through AWS's rates.)
async fn backoff(attempt: u32) {
    use rand::Rng;
    let cap = Duration::from_secs(1)
        .saturating_mul(1 << attempt.saturating_sub(1).min(5))
        .min(Duration::from_secs(20));
    let wait = rand::rng().random_range(Duration::ZERO..=cap);
    tokio::time::sleep(wait).await;
}

/// The bound of one call, retries included: an attempt's timeout, plus
/// 12 s (a little over the mean backoff once it reaches its 20 s cap) per
/// retry, at most 15 minutes. Long enough that the retries asked for can
/// happen under throttling; short enough that a call cannot hang an apply.
pub fn operation_timeout(max_retries: Option<u32>) -> Duration {
    let retries = max_retries.unwrap_or(DEFAULT_MAX_RETRIES);
    (ATTEMPT_TIMEOUT + Duration::from_secs(12) * retries).min(MAX_OPERATION_TIMEOUT)
}

/// Forbids retrying a connection the endpoint refused (see the module).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct RefusedConnection;

impl ClassifyRetry for RefusedConnection {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let refused = ctx
            .output_or_error()
            .and_then(Result::err)
            .and_then(|e| e.as_connector_error())
            .is_some_and(|e| e.is_io() && is_refused(e));
        if refused {
            RetryAction::RetryForbidden
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "bbws: refused connections"
    }

    fn priority(&self) -> RetryClassifierPriority {
        // After the SDK's transient-error classifier, to overrule it.
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

/// Whether an IO error somewhere in the chain is a refused connection.
fn is_refused(err: &(dyn StdError + 'static)) -> bool {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return true;
        }
        if e.to_string().to_ascii_lowercase().contains("connection refused") {
            return true;
        }
        cur = e.source();
    }
    false
}

/// Writes how many attempts a call took into its final answer's headers.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct AttemptCounter;

impl Intercept for AttemptCounter {
    fn name(&self) -> &'static str {
        "bbws: attempt counter"
    }

    fn modify_before_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let attempts = cfg.load::<RequestAttempts>().map(RequestAttempts::attempts);
        if let (Some(n), Some(response)) = (attempts, context.response_mut()) {
            response.headers_mut().insert(ATTEMPTS_HEADER, n.to_string());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    // A create the port retries itself waits as the SDK would (eight
    // backoffs from 1 s up to 20 s) and says how often it was sent; a
    // throttled attempt made nothing, so nothing is looked for after it.
    #[tokio::test(start_paused = true)]
    async fn an_unnamed_create_rides_out_throttling_as_long_as_the_sdk_and_counts_its_attempts() {
        let sent = Arc::new(AtomicU32::new(0));
        let looked = AtomicU32::new(0);
        let start = tokio::time::Instant::now();
        let attempts = unnamed_create_attempts(Some(&retry_config(None)));
        assert_eq!(attempts, DEFAULT_MAX_RETRIES + 1);
        let result: PortResult<Created<(), ()>> = create_unduplicated(
            attempts,
            None,
            || {
                let sent = sent.clone();
                async move {
                    sent.fetch_add(1, Ordering::SeqCst);
                    Err(crate::ports::PortError::new(
                        crate::ports::PortErrorKind::Transient,
                        "ThrottlingException",
                        "Rate exceeded",
                    )
                    .with_attempts(1))
                }
            },
            || async {
                looked.fetch_add(1, Ordering::SeqCst);
                None
            },
        )
        .await;
        let Err(e) = result else { panic!("always throttled") };
        assert_eq!(sent.load(Ordering::SeqCst), attempts);
        assert_eq!(looked.load(Ordering::SeqCst), 0, "looked for a throttled create");
        assert_eq!(e.attempts, attempts, "{e}");
        // `max_retries` holds for them too.
        assert_eq!(unnamed_create_attempts(Some(&retry_config(Some(25)))), 26);
        // Full jitter: at most 1+2+4+8+16+20+20+20 s of waiting.
        assert!(start.elapsed() <= Duration::from_secs(91), "{:?}", start.elapsed());
    }

    // A failure that may have run (here a timeout, whose request may have
    // been carried out) is looked up before the next attempt: what the
    // lost answer made is found, not made twice.
    #[tokio::test(start_paused = true)]
    async fn an_unnamed_create_whose_answer_was_lost_is_found_not_sent_again() {
        let sent = AtomicU32::new(0);
        let result: PortResult<Created<(), &str>> = create_unduplicated(
            DEFAULT_MAX_RETRIES + 1,
            None,
            || async {
                sent.fetch_add(1, Ordering::SeqCst);
                Err(crate::ports::PortError::new(
                    crate::ports::PortErrorKind::Transient,
                    "Timeout",
                    "no answer",
                ))
            },
            || async { Some("made by the first attempt") },
        )
        .await;
        assert!(matches!(result, Ok(Created::Found("made by the first attempt"))));
        assert_eq!(sent.load(Ordering::SeqCst), 1);
    }

    /// ECS's RegisterTaskDefinition bucket: a burst of 20, then 1 a second.
    struct SlowBucket(std::sync::Mutex<(f64, tokio::time::Instant)>);

    impl SlowBucket {
        fn new() -> Self {
            SlowBucket(std::sync::Mutex::new((20.0, tokio::time::Instant::now())))
        }

        fn take(&self) -> bool {
            let mut b = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = tokio::time::Instant::now();
            b.0 = (b.0 + now.duration_since(b.1).as_secs_f64()).min(20.0);
            b.1 = now;
            let ok = b.0 >= 1.0;
            if ok {
                b.0 -= 1.0;
            }
            ok
        }
    }

    /// One create through the bucket (100 ms a call); whether it was made.
    async fn create_through(bucket: &SlowBucket, turn: Option<&tokio::sync::Mutex<()>>) -> bool {
        let r: PortResult<Created<(), ()>> = create_unduplicated(
            DEFAULT_MAX_RETRIES + 1,
            turn,
            || async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if bucket.take() {
                    Ok(())
                } else {
                    Err(crate::ports::PortError::new(
                        crate::ports::PortErrorKind::Transient,
                        "ThrottlingException",
                        "Rate exceeded",
                    ))
                }
            },
            || async { None },
        )
        .await;
        r.is_ok()
    }

    /// 100 creates of one process at once on the paused clock: with a
    /// shared turn every one is made; each on its own, some run out of
    /// attempts (which is what the turn is for).
    #[tokio::test(start_paused = true)]
    async fn a_shared_turn_rides_out_a_slow_bucket() {
        let bucket = SlowBucket::new();
        let turn = tokio::sync::Mutex::new(());
        let made = futures::future::join_all((0..100).map(|_| create_through(&bucket, Some(&turn)))).await;
        assert_eq!(made.iter().filter(|ok| !**ok).count(), 0, "with a shared turn");

        let bucket = SlowBucket::new();
        let alone = futures::future::join_all((0..100).map(|_| create_through(&bucket, None))).await;
        assert!(alone.iter().any(|ok| !*ok), "each on its own, some run out of attempts");
    }

    #[test]
    fn retries_and_their_bound() {
        assert_eq!(retry_config(None).max_attempts(), DEFAULT_MAX_RETRIES + 1);
        assert_eq!(retry_config(Some(0)).max_attempts(), 1);
        assert_eq!(retry_config(Some(25)).max_attempts(), 26);
        assert_eq!(retry_config(None).mode(), aws_config::retry::RetryMode::Standard);
        assert_eq!(operation_timeout(Some(0)), ATTEMPT_TIMEOUT);
        assert_eq!(operation_timeout(None), Duration::from_secs(20 + 12 * 8));
        assert_eq!(operation_timeout(Some(25)), Duration::from_secs(320));
        assert_eq!(operation_timeout(Some(100)), MAX_OPERATION_TIMEOUT);
    }

    /// The one shared configuration every client (and STS's assume-role
    /// provider) is built from carries the retries and the bounds.
    #[tokio::test]
    async fn the_shared_configuration_has_the_retries_and_timeouts() {
        let settings = super::super::AwsSettings {
            region: Some("eu-west-1".into()),
            max_retries: Some(25),
            ..Default::default()
        };
        let cfg = super::super::config_loader(&settings).load().await;
        let retry = cfg.retry_config().expect("a retry configuration");
        assert_eq!(
            (retry.mode(), retry.max_attempts()),
            (aws_config::retry::RetryMode::Standard, 26)
        );
        let t = cfg.timeout_config().expect("a timeout configuration");
        assert_eq!(t.operation_timeout(), Some(operation_timeout(Some(25))));
        assert_eq!(t.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
        assert_eq!(t.connect_timeout(), Some(CONNECT_TIMEOUT));
    }

    /// A stub Route53 that throttles every request, as AWS does when the
    /// account's five a second are spent; counts what it was sent.
    async fn throttling_route53() -> (String, Arc<AtomicU32>) {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let count = Arc::new(AtomicU32::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut conn = BufReader::new(conn);
                    loop {
                        let (mut line, mut length) = (String::new(), 0usize);
                        loop {
                            line.clear();
                            if conn.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                                length = v.trim().parse().unwrap_or(0);
                            }
                            if line == "\r\n" {
                                break;
                            }
                        }
                        let mut body = vec![0; length];
                        if conn.read_exact(&mut body).await.is_err() {
                            return;
                        }
                        seen.fetch_add(1, Ordering::SeqCst);
                        let doc = "<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>";
                        let answer = format!(
                            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{doc}",
                            doc.len()
                        );
                        if conn.get_mut().write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (url, count)
    }

    /// Forty concurrent calls, every attempt throttled: each gets all its
    /// `max_retries`. With the SDK's retry quota (500 tokens, 5 a throttled
    /// retry) the 320 retries asked for would stop after about 100.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn throttled_calls_get_every_retry_asked_for() {
        let (url, sent) = throttling_route53().await;
        let settings = super::super::AwsSettings {
            region: Some("us-east-1".into()),
            max_retries: Some(8),
            endpoints: [("route53".to_owned(), url)].into_iter().collect(),
            ..Default::default()
        };
        // AWS's backoff (up to 20 s a retry) shrunk to milliseconds: the
        // retries and their quota are what is tested, not the waits.
        let quick = retry_config(settings.max_retries)
            .with_initial_backoff(Duration::from_millis(1))
            .with_max_backoff(Duration::from_millis(2));
        let cfg = super::super::config_loader(&settings)
            .retry_config(quick)
            .credentials_provider(aws_credential_types::Credentials::new(
                "AKIDTEST", "secret", None, None, "test",
            ))
            .load()
            .await;
        let ports = super::super::ports_from_config(&cfg, &settings);
        let calls = (0..40).map(|_| {
            let r53 = ports.route53.clone();
            async move { r53.list_records("Z1").await }
        });
        let results = futures::future::join_all(calls).await;
        let attempts: Vec<u32> = results
            .iter()
            .map(|r| r.as_ref().err().map_or(0, |e| e.attempts))
            .collect();
        assert_eq!(attempts, vec![9; 40], "attempts of each call");
        assert_eq!(sent.load(Ordering::SeqCst), 40 * 9);
    }

    #[test]
    fn a_refused_connection_is_recognised_in_the_chain() {
        #[derive(Debug)]
        struct Wrap(std::io::Error);
        impl std::fmt::Display for Wrap {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("client error (Connect)")
            }
        }
        impl StdError for Wrap {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let refused = Wrap(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(is_refused(&refused));
        let reset = Wrap(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert!(!is_refused(&reset));
    }
}
