//! Standard output for the commands. When the reader goes away
//! (`sluice errors 7 --json | head`), the process ends quietly with
//! success, as Unix tools do, instead of panicking on the closed pipe.

use std::fmt;
use std::io::{self, Write};

/// `print!` to standard output, ending the process quietly if the reader
/// has gone away.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write(format_args!($($arg)*), false)
    };
}

/// `println!` to standard output, ending the process quietly if the reader
/// has gone away.
macro_rules! outln {
    () => {
        $crate::output::write(format_args!(""), true)
    };
    ($($arg:tt)*) => {
        $crate::output::write(format_args!($($arg)*), true)
    };
}

/// Write `args` (and a newline) to standard output, for people: any
/// control character but the line feeds is escaped (see [`sluice::text`]),
/// so whatever a field forgot to escape cannot act on the terminal. Fields
/// that came from plugins or remote systems are escaped whole, line feeds
/// included, where they are formatted. A closed pipe exits with status 0;
/// any other write error is reported and exits with 1.
pub(crate) fn write(args: fmt::Arguments<'_>, newline: bool) {
    let text = match args.as_str() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(args.to_string()),
    };
    write_exact(&sluice::text::escape_keeping_newlines(&text), newline);
}

/// Write `text` (and a newline) to standard output as it is: for JSON,
/// which escapes what it must itself and has to stay exact.
pub(crate) fn write_exact(text: &str, newline: bool) {
    let mut stdout = io::stdout().lock();
    let written = stdout
        .write_all(text.as_bytes())
        .and_then(|()| {
            if newline {
                stdout.write_all(b"\n")
            } else {
                Ok(())
            }
        })
        .and_then(|()| stdout.flush());
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            eprintln!("error: cannot write to standard output: {e}");
            std::process::exit(1);
        }
    }
}
