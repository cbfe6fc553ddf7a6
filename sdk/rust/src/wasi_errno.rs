//! WASI error numbers in plain words.
//!
//! Inside the sandbox the standard library reports file errors with WASI
//! error numbers (`wasi_snapshot_preview1` `errno`, which wasi-libc keeps
//! for preview 2), not the host's: 31 is "is a directory" there, 21 on
//! Linux. An operator should read words, not either number.

use std::io::ErrorKind;

/// Each WASI error number's meaning, indexed by the number.
const WORDS: [&str; 77] = [
    "no error",                                      // 0: success
    "the argument list is too long",                 // 1: 2big
    "permission denied",                             // 2: acces
    "the address is in use",                         // 3: addrinuse
    "the address is not available",                  // 4: addrnotavail
    "the address family is not supported",           // 5: afnosupport
    "the resource is temporarily unavailable",       // 6: again
    "an operation is already in progress",           // 7: already
    "the file descriptor is not valid",              // 8: badf
    "the message is not valid",                      // 9: badmsg
    "the device or resource is busy",                // 10: busy
    "the operation was cancelled",                   // 11: canceled
    "there are no child processes",                  // 12: child
    "the connection was aborted",                    // 13: connaborted
    "the connection was refused",                    // 14: connrefused
    "the connection was reset",                      // 15: connreset
    "a resource deadlock was avoided",               // 16: deadlk
    "a destination address is required",             // 17: destaddrreq
    "a mathematical argument is out of domain",      // 18: dom
    "the disk quota is exceeded",                    // 19: dquot
    "the file already exists",                       // 20: exist
    "a bad address",                                 // 21: fault
    "the file is too large",                         // 22: fbig
    "the host is unreachable",                       // 23: hostunreach
    "the identifier was removed",                    // 24: idrm
    "an illegal byte sequence",                      // 25: ilseq
    "the operation is in progress",                  // 26: inprogress
    "the call was interrupted",                      // 27: intr
    "an argument is not valid",                      // 28: inval
    "an input/output error",                         // 29: io
    "the socket is already connected",               // 30: isconn
    "is a directory",                                // 31: isdir
    "there are too many levels of symbolic links",   // 32: loop
    "too many files are open",                       // 33: mfile
    "there are too many links",                      // 34: mlink
    "the message is too large",                      // 35: msgsize
    "a multihop was attempted",                      // 36: multihop
    "the file name is too long",                     // 37: nametoolong
    "the network is down",                           // 38: netdown
    "the connection was reset by the network",       // 39: netreset
    "the network is unreachable",                    // 40: netunreach
    "too many files are open in the system",         // 41: nfile
    "no buffer space is available",                  // 42: nobufs
    "no such device",                                // 43: nodev
    "no such file or directory",                     // 44: noent
    "the file is not executable",                    // 45: noexec
    "no locks are available",                        // 46: nolck
    "the link was severed",                          // 47: nolink
    "not enough memory",                             // 48: nomem
    "no message of the desired type",                // 49: nomsg
    "the protocol is not available",                 // 50: noprotoopt
    "no space is left on the device",                // 51: nospc
    "the function is not supported",                 // 52: nosys
    "the socket is not connected",                   // 53: notconn
    "not a directory",                               // 54: notdir
    "the directory is not empty",                    // 55: notempty
    "the state is not recoverable",                  // 56: notrecoverable
    "not a socket",                                  // 57: notsock
    "the operation is not supported",                // 58: notsup
    "not a terminal",                                // 59: notty
    "no such device or address",                     // 60: nxio
    "the value is too large for its type",           // 61: overflow
    "the previous owner died",                       // 62: ownerdead
    "the operation is not permitted",                // 63: perm
    "the pipe is broken",                            // 64: pipe
    "a protocol error",                              // 65: proto
    "the protocol is not supported",                 // 66: protonosupport
    "the protocol is the wrong type for the socket", // 67: prototype
    "the result is too large",                       // 68: range
    "the file system is read-only",                  // 69: rofs
    "the file cannot seek",                          // 70: spipe
    "no such process",                               // 71: srch
    "the file handle is stale",                      // 72: stale
    "the operation timed out",                       // 73: timedout
    "the text file is busy",                         // 74: txtbsy
    "a cross-device link",                           // 75: xdev
    "the granted capabilities do not allow it",      // 76: notcapable
];

/// The meaning of WASI error number `code`.
pub(crate) fn words(code: i32) -> Option<&'static str> {
    usize::try_from(code)
        .ok()
        .and_then(|i| WORDS.get(i))
        .copied()
}

/// The kind of the errors a file connector tells apart, for WASI error
/// number `code`.
pub(crate) fn kind(code: i32) -> Option<ErrorKind> {
    Some(match code {
        2 | 63 | 76 => ErrorKind::PermissionDenied,
        31 => ErrorKind::IsADirectory,
        44 => ErrorKind::NotFound,
        54 => ErrorKind::NotADirectory,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_the_wasi_table() {
        assert_eq!(words(31), Some("is a directory"));
        assert_eq!(words(44), Some("no such file or directory"));
        assert_eq!(words(76), Some("the granted capabilities do not allow it"));
        assert_eq!(words(77), None);
        assert_eq!(words(-1), None);
        assert_eq!(kind(31), Some(ErrorKind::IsADirectory));
        assert_eq!(kind(54), Some(ErrorKind::NotADirectory));
        assert_eq!(kind(29), None);
    }
}
