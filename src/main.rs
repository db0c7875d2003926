//! `gardener`: parse arguments, run, map errors to exit codes. Everything else is in the library.
//!
//! Exit codes (as ripgrep's): 0 success, 2 an error (the message on stderr), 130 an ingest
//! stopped by SIGINT. A reader that closes stdout early (`gardener query ... | head -1`)
//! ends the run quietly with 0. Code 1 is kept for findings-style outcomes; no subcommand
//! has one yet.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use log_gardener::cli::{Cli, Command, IngestArgs, OutputFormat, QueryArgs, ReportArgs};
use log_gardener::ingest::{self, Stop};
use log_gardener::lake::compact::{self, MaintenanceSummary};
use log_gardener::lake::{Lake, ledger};
use log_gardener::report::known::Known;
use log_gardener::report::priority::Rules;
use log_gardener::synth;

/// mimalloc returns freed chunk buffers to the threads that reuse them, which keeps peak RSS
/// down and avoids page-fault storms from glibc's per-thread arenas (see docs/BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc v3's `mi_option_e` (libmimalloc-sys builds v3 unless
/// its `v2` feature is on; `c_src/mimalloc/v3/include/mimalloc.h`). The crate exports no
/// constant for it.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> ExitCode {
    // No transparent huge pages: mimalloc asks for them (MADV_HUGEPAGE) and each 2 MiB fault
    // zeroes a whole huge page, or waits for the kernel to compact memory for one. Ingest of
    // 1 GB spent 1.8-2.8 s of system time with them, 0.5-0.8 s without, and ran 20% faster
    // (docs/BENCHMARKS.md, "Fresh pages"). mimalloc's own `allow_thp` option is read when it
    // starts, before `main`; this process flag also covers the memory it mapped by then.
    // A kernel that refuses it leaves things as they were: the result is ignored on purpose.
    #[cfg(target_os = "linux")]
    // SAFETY: sets a flag of this process; no memory is touched.
    unsafe {
        let off: libc::c_ulong = 0;
        libc::prctl(libc::PR_SET_THP_DISABLE, 1 as libc::c_ulong, off, off, off);
    }
    let cli = Cli::parse();
    // When mimalloc returns freed pages to the OS, in milliseconds. Fresh pages are what
    // costs: the kernel zeroes each on first touch (`clear_page` in perf), and on this VM
    // that is far slower than the zeroing itself (docs/BENCHMARKS.md, "Fresh pages").
    // - Batch ingest keeps them (-1): it frees and re-allocates multi-MiB buffers all the
    //   time; re-faulting them cost 45% of the CPU, with peak RSS unchanged.
    // - A follower returns them at once (0): it runs for days, and flat memory matters more
    //   to it than the last bit of speed.
    // - Everything else (queries, the report, cluster roles) keeps them 100 ms: operators free
    //   memory the next ones allocate again. On the 12 M-row lake (huge pages still on) the
    //   report took 13.1 s / 760 MB returning at once, 11.5 s / 935 MB at 100 ms, 10.5 s /
    //   1.1 GB never.
    let purge_delay = match &cli.command {
        Command::Ingest(a) if a.follow => 0,
        Command::Ingest(_) => -1,
        _ => 100,
    };
    // mimalloc's own MIMALLOC_PURGE_DELAY, when set, wins (to measure another trade-off).
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets a global option before any thread exists; mimalloc reads it atomically.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, purge_delay) };
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match run(cli) {
        Ok(code) => code,
        // The reader went away: nothing left to say to it, and nothing went wrong.
        Err(_) if STDOUT_CLOSED.load(Ordering::Relaxed) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Set when a write to stdout found the pipe closed.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Stdout that remembers a closed pipe, whatever error type the writer above wraps it in
/// (the CSV writer turns it into a string).
struct Stdout(std::io::StdoutLock<'static>);

fn stdout() -> Stdout {
    Stdout(std::io::stdout().lock())
}

impl Stdout {
    fn check<T>(r: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &r
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
        }
        r
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Self::check(self.0.write(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Self::check(self.0.flush())
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Ingest(args) => ingest(&args),
        Command::Compact(args) => {
            let opts = args.options()?;
            let summary = on_lake(&args.lake, async |lake| {
                Ok(compact::compact(&lake, &opts).await?)
            })?;
            print_maintenance(&summary, args.output, "compacted")
        }
        Command::Prune(args) => {
            let (cutoff, grace) = (args.cutoff()?, args.grace());
            let summary = on_lake(&args.lake, async |lake| {
                Ok(compact::prune(&lake, cutoff, grace).await?)
            })?;
            print_maintenance(&summary, args.output, "pruned")
        }
        Command::Query(args) => query(&args),
        Command::Report(args) => report(&args),
        Command::Mine(args) => {
            let input: Box<dyn std::io::Read> = if args.file == "-" {
                Box::new(std::io::stdin().lock())
            } else {
                let file = std::fs::File::open(&args.file)
                    .with_context(|| format!("opening {}", args.file))?;
                Box::new(file)
            };
            log_gardener::signature::mine_csv(input, stdout(), args.threads)
                .with_context(|| format!("mining {}", args.file))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Synth(args) => {
            let report =
                synth::generate(&args.scenario, &args.out, &args.options()).with_context(|| {
                    format!(
                        "generating scenario {} into {}",
                        args.scenario,
                        args.out.display()
                    )
                })?;
            writeln!(stdout(), "{report}")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Cluster(args) => cluster(args.role),
    }
}

/// Runs a cluster role until it is stopped.
#[cfg(feature = "cluster")]
fn cluster(role: log_gardener::cli::Role) -> anyhow::Result<ExitCode> {
    use log_gardener::cli::Role;
    use log_gardener::engine::cluster::roles;
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async {
        match role {
            Role::Scheduler(args) => roles::scheduler(args.options()).await,
            Role::Executor(args) => roles::executor(args.options()).await,
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "cluster"))]
fn cluster(_: log_gardener::cli::Role) -> anyhow::Result<ExitCode> {
    anyhow::bail!("this gardener was built without the `cluster` feature")
}

fn ingest(args: &IngestArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let summary = rt.block_on(ingest::run(args.options(), Stop::default()))?;
    match args.output {
        OutputFormat::Json => writeln!(stdout(), "{}", serde_json::to_string_pretty(&summary)?)?,
        OutputFormat::Text => write!(stdout(), "{summary}")?,
    }
    // A source blocked on stdin must not keep the process alive after an interrupt.
    rt.shutdown_timeout(Duration::from_millis(100));
    Ok(if summary.status == ledger::RunStatus::Interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

fn query(args: &QueryArgs) -> anyhow::Result<ExitCode> {
    use log_gardener::engine::{self, named};
    if args.list {
        let mut out = stdout();
        for (_, text) in named::QUERIES {
            // Each file starts with `-- name: purpose`.
            let purpose = text.lines().next().unwrap_or("");
            writeln!(out, "{}", purpose.trim_start_matches("-- "))?;
        }
        writeln!(out, "{}", log_gardener::report::INCIDENTS_QUERY.1)?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(lake) = &args.lake else {
        anyhow::bail!("--lake LAKE is required");
    };
    let service = args.service.as_deref();
    if args.named.as_deref() == Some(log_gardener::report::INCIDENTS_QUERY.0) {
        let opts = report_options(lake, service, Rules::builtin(), Known::default())?;
        let range = args.range(Some("7d"));
        let report = gather_report(lake, &range, service, &args.execution.execution(), &opts)?;
        let table = log_gardener::report::incidents_table(&report)?;
        engine::output::write(&[table], args.format, &mut stdout())?;
        return Ok(ExitCode::SUCCESS);
    }
    let params = args.params()?;
    let text = match (&args.sql, &args.file, &args.named) {
        (Some(s), _, _) => named::substitute(s, &params)?,
        (_, Some(f), _) => {
            let raw = if f == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(f).with_context(|| format!("reading {f}"))?
            };
            named::substitute(&raw, &params)?
        }
        (_, _, Some(n)) => named::render(n, &params)?,
        _ => anyhow::bail!("give the SQL, -f FILE or --named NAME (see --list)"),
    };
    let range = args.range(None);
    let batches = on_lake(lake, async |lake| {
        let engine =
            engine::Engine::open(&lake, &range, service, &args.execution.execution()).await?;
        let batches = engine.query(&text, args.allow_write).await?;
        engine.drop_session_tables().await?;
        Ok(batches)
    })?;
    engine::output::write(&batches, args.format, &mut stdout())?;
    Ok(ExitCode::SUCCESS)
}

fn report(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    use log_gardener::report;
    let rules = match &args.rules {
        Some(path) => Rules::load(path)?,
        None => Rules::builtin(),
    };
    let known = match &args.known {
        Some(path) => Known::load(path)?,
        None => Known::default(),
    };
    let service = args.service.as_deref();
    let opts = report_options(&args.lake, service, rules, known)?;
    let execution = args.execution.execution();
    let report = gather_report(&args.lake, &args.range(), service, &execution, &opts)?;
    if let Some(dir) = &args.drafts {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for (name, body) in report::markdown::drafts(&report) {
            let path = dir.join(name);
            std::fs::write(&path, body).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    let text = report::render(&report, args.format).context("serialising the report")?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => stdout().write_all(text.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}

/// How `report` and `query --named incidents` make the report.
/// Runs `f` on the existing lake `location` in a new runtime (the maintenance commands).
fn on_lake<T>(location: &str, f: impl AsyncFnOnce(Lake) -> anyhow::Result<T>) -> anyhow::Result<T> {
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async { f(Lake::open_existing(location).await?).await })
}

fn print_maintenance(
    s: &MaintenanceSummary,
    output: OutputFormat,
    what: &str,
) -> anyhow::Result<ExitCode> {
    let mut out = stdout();
    match output {
        OutputFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(s)?)?,
        OutputFormat::Text => {
            match s.version {
                Some(v) => writeln!(
                    out,
                    "{what} {} days ({} rows): {} files -> {} files, lake version {v}",
                    s.days.len(),
                    s.rows,
                    s.files_removed,
                    s.files_added
                )?,
                None => writeln!(out, "nothing to do")?,
            }
            writeln!(out, "deleted {} files no longer in the lake", s.deleted)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn report_options(
    lake: &str,
    service: Option<&str>,
    rules: Rules,
    known: Known,
) -> anyhow::Result<log_gardener::report::Options> {
    Ok(log_gardener::report::Options {
        rules,
        lake: lake.to_owned(),
        service: service.map(str::to_owned),
        known,
        generated_at: generated_at()?,
    })
}

/// Now, or SOURCE_DATE_EPOCH (seconds) for reproducible reports; an invalid one is an error,
/// not a silent "now".
fn generated_at() -> anyhow::Result<String> {
    let at = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(s) => s
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
            .with_context(|| format!("SOURCE_DATE_EPOCH={s:?}: expected seconds since 1970"))?,
        Err(_) => chrono::Utc::now(),
    };
    Ok(at.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// Opens the lake and gathers the report over `range`.
fn gather_report(
    lake: &str,
    range: &log_gardener::range::RangeSpec,
    service: Option<&str>,
    execution: &log_gardener::engine::Execution,
    opts: &log_gardener::report::Options,
) -> anyhow::Result<log_gardener::report::model::Report> {
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async {
        let lake = log_gardener::lake::Lake::open_existing(lake).await?;
        let engine = log_gardener::engine::Engine::open(&lake, range, service, execution).await?;
        anyhow::Ok(log_gardener::report::gather(&engine, opts).await?)
    })
}
