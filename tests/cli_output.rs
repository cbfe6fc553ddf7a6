//! What the CLI does with its standard output.

use std::io::Read;
use std::process::Stdio;

use crate::support::TestEnv;

/// `sluice … | head`: when the reader closes the pipe, the command ends
/// quietly with success instead of panicking.
#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    let env = TestEnv::new();
    let mut child = env
        .command(&["plugins", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sluice");
    // Close the reading end before `sluice` has written anything.
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Any other write error is reported and fails the command.
#[test]
fn a_full_disk_on_standard_output_is_an_error() {
    let env = TestEnv::new();
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full");
    let Ok(full) = full else {
        return; // no /dev/full on this system
    };
    let output = env.command(&["plugins"]).stdout(full).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot write to standard output"),
        "{stderr}"
    );
}
