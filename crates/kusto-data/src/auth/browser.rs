//! Opening the sign-in page: the system browser (the `webbrowser` crate, which also honours the
//! `BROWSER` environment variable), a command of the user's, or a callback of the application.

use std::process::Stdio;

use super::interactive::Opener;

/// What was started to show the page.
pub(crate) enum Launched {
    /// The system browser or the callback took the URL.
    Done,
    /// A command that is still running (or has just finished): its exit status is watched, a
    /// failure ending the sign-in.
    Command(tokio::process::Child),
}

/// Shows `url` with `opener`. The error is the reason the page could not be shown.
pub(crate) async fn launch(opener: &Opener, url: &str) -> Result<Launched, String> {
    match opener {
        Opener::System => {
            let owned = url.to_owned();
            tokio::task::spawn_blocking(move || webbrowser::open(&owned))
                .await
                .map_err(|e| format!("the browser launcher failed: {e}"))?
                .map_err(|e| format!("no browser could be opened: {e}"))?;
            Ok(Launched::Done)
        }
        Opener::Command { program, args } => {
            // The command's output goes to the process's stderr: a command such as `echo` then
            // shows the URL to a person on a remote terminal without mixing it into stdout.
            let stderr = || Stdio::from(std::io::stderr());
            let child = tokio::process::Command::new(program)
                .args(args)
                .arg(url)
                .stdin(Stdio::null())
                .stdout(stderr())
                .stderr(stderr())
                .spawn()
                .map_err(|e| format!("could not run '{}': {e}", program.to_string_lossy()))?;
            Ok(Launched::Command(child))
        }
        Opener::Callback(callback) => {
            callback
                .call(url)
                .map_err(|e| format!("the application could not show the page: {e}"))?;
            Ok(Launched::Done)
        }
    }
}
