//! `rdb-convert completions SHELL` and `rdb-convert man`: generated from the same clap
//! definitions as `--help`, so they never drift from the flags.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Command};
use clap_complete::Shell;

/// Print a shell completion script.
#[derive(Args, Debug, Clone)]
#[command(after_help = "Examples:
  rdb-convert completions bash > /etc/bash_completion.d/rdb-convert
  rdb-convert completions zsh > \"${fpath[1]}/_rdb-convert\"
  rdb-convert completions fish > ~/.config/fish/completions/rdb-convert.fish
  rdb-convert completions powershell >> $PROFILE")]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, powershell or elvish.
    #[arg(value_name = "SHELL")]
    pub shell: Shell,
}

/// Print the manual page (roff), for `man -l -` or a man directory.
#[derive(Args, Debug, Clone)]
#[command(after_help = "Examples:
  rdb-convert man | man -l -
  rdb-convert man -o /usr/local/share/man/man1/rdb-convert.1")]
pub struct ManArgs {
    /// Write the page to this file instead of standard output, e.g. -o rdb-convert.1
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn completions(args: &CompletionsArgs, mut cli: Command) -> Result<()> {
    let name = cli.get_name().to_string();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut cli, name, &mut out);
    out.flush().context("writing the completion script")
}

pub fn man(args: &ManArgs, cli: Command) -> Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cli)
        .render(&mut page)
        .context("rendering the manual page")?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, &page).with_context(|| format!("writing {}", path.display()))
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&page)
                .and_then(|()| out.flush())
                .context("writing the manual page")
        }
    }
}
