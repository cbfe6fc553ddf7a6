//! `sluice webhooks test URL --secret-env VAR`: one signed `webhook.test`
//! request, the receiver's answer printed, the exit code from its status.

use super::webhook_run_events::SECRET;
use crate::support::webhook_receiver::WebhookReceiver;
use crate::support::{TestEnv, stderr, stdout};

#[test]
fn webhooks_test_sends_one_signed_request_and_reports_the_answer() {
    let env = TestEnv::new();
    let receiver = WebhookReceiver::start(vec![
        (200, Vec::new(), "thanks".into()),
        (500, Vec::new(), format!("boom \x1b[31m{SECRET}")),
    ]);
    let vars = [("HOOK_SECRET", SECRET)];
    let args = [
        "webhooks",
        "test",
        receiver.url(),
        "--secret-env",
        "HOOK_SECRET",
    ];

    let ok = env.cli_with_env(&args, &vars);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(
        stdout(&ok).contains("Delivered: HTTP 200"),
        "{}",
        stdout(&ok)
    );
    assert!(stdout(&ok).contains("answer: thanks"));
    let hit = &receiver.hits()[0];
    assert!(hit.signed_with(SECRET));
    assert_eq!(hit.header("sluice-event"), Some("webhook.test"));
    assert_eq!(hit.json()["event"], "webhook.test");
    assert_eq!(hit.json()["id"], hit.header("sluice-delivery").unwrap());

    let refused = env.cli_with_env(&args, &vars);
    assert_eq!(refused.status.code(), Some(1));
    let out = stdout(&refused);
    assert!(out.contains("Refused: HTTP 500"), "{out}");
    // The answer is escaped, and the secret it echoed replaced.
    assert!(!out.contains('\x1b') && !out.contains(SECRET), "{out}");
    assert!(out.contains("[redacted]"), "{out}");
    assert_eq!(receiver.hits().len(), 2, "no retry");

    let unset = env.cli(&args);
    assert!(!unset.status.success());
    assert!(
        stderr(&unset).contains("$HOOK_SECRET is not set"),
        "{}",
        stderr(&unset)
    );
}
