using System.CommandLine;
using System.Diagnostics;
using MovingImages.Notebooks;

namespace MovingImages.Cli.Commands;

/// <summary>
/// <c>movingimages notebook run|kernelspec</c>: execute the C# notebooks headless on the .NET Interactive kernel, and
/// install the Jupyter kernelspec for them.
/// </summary>
internal static class NotebookCommand
{
    public static Command Create(CliIO io)
    {
        var command = new Command("notebook", "Execute the C# notebooks on the .NET Interactive kernel; install the Jupyter kernel for them.");
        command.Subcommands.Add(Run(io));
        command.Subcommands.Add(Sweep(io));
        command.Subcommands.Add(Exec(io));
        command.Subcommands.Add(KernelSpecCommand(io));
        return command;
    }

    static Option<string[]> ParametersOption() => new("--parameter", "-p") { Description = "override a value of the cell tagged 'parameters': -p name=value (repeatable)" };
    static Option<double> TimeoutOption() => new("--timeout") { Description = "seconds a single cell may run", DefaultValueFactory = _ => 1800 };

    static Command Run(CliIO io)
    {
        var input = new Argument<string>("notebook") { Description = "an .ipynb file, or a folder of them" };
        var parameters = ParametersOption();
        var output = new Option<string>("--out") { Description = "folder for the executed notebooks", DefaultValueFactory = _ => Path.Combine("out", "notebooks") };
        var timeout = TimeoutOption();
        var run = new Command("run", "Run every cell in order in a .NET Interactive C# kernel started in the notebook's folder (as Jupyter starts one), " +
                                     "write the executed notebook after every cell, stop at the first failing cell.") { input, parameters, output, timeout };
        run.SetAction(async (parse, ct) =>
        {
            string path = parse.GetValue(input)!;
            if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("no notebook given: name an .ipynb file or a folder of them");
            var files = Directory.Exists(path) ? Directory.GetFiles(path, "*.ipynb").Where(f => !Path.GetFileName(f).StartsWith('.')).Order(StringComparer.Ordinal).ToArray()
                : File.Exists(path) ? [path] : throw new FileNotFoundException($"Notebook not found: {path}", path);
            if (files.Length == 0) throw new FileNotFoundException($"No .ipynb files in {path}");
            var pairs = parse.GetValue(parameters) ?? [];
            NotebookParameters.Parse(pairs); // a malformed -p fails here, before any kernel starts
            string outDir = Path.GetFullPath(parse.GetValue(output)!);
            int failures = 0;
            foreach (var file in files)
            {
                string target = Path.Combine(outDir, Path.GetFileName(file));
                if (Path.GetFullPath(file) == target)
                    throw new ArgumentException($"{file}: --out {outDir} would overwrite the notebook itself; choose another folder");
                io.Err.WriteLine($"running {file}");
                var args = new List<string> { "notebook", "exec", Path.GetFullPath(file), "--out", target, "--timeout", parse.GetValue(timeout).ToString(System.Globalization.CultureInfo.InvariantCulture) };
                if (files.Length > 1) args.Add("--ignore-unknown");
                foreach (var p in pairs) { args.Add("-p"); args.Add(p); }
                int code = await RunKernelProcessAsync(args, Path.GetDirectoryName(Path.GetFullPath(file))!, io, ct);
                if (code != 0)
                {
                    failures++;
                    if (code is not 1 and not 130)
                        io.Err.WriteLine($"{Path.GetFileName(file)}: the kernel process ended with exit code {code} (a cell killed it); {target} holds the cells before it");
                }
                if (ct.IsCancellationRequested) return 130;
            }
            return failures == 0 ? 0 : 1;
        });
        return run;
    }

    static Command Sweep(CliIO io)
    {
        var input = new Argument<string>("notebook") { Description = "the .ipynb file" };
        var parameters = new Option<string[]>("--parameter", "-p") { Description = "a parameter and its values: -p name=value1,value2 (repeatable; every combination runs)" };
        var output = new Option<string?>("--out") { Description = "the sweep's folder (default out/sweeps/<notebook>): runs/, results.csv, results.html" };
        var parallel = new Option<int>("--parallel") { Description = "runs at once (each a kernel process of its own)", DefaultValueFactory = _ => Math.Max(1, Environment.ProcessorCount / 4) };
        var timeout = TimeoutOption();
        var sweep = new Command("sweep", "Run a notebook for every combination of parameter values (resumable), collect what it records " +
                                         "(NotebookDisplay.Record) into results.csv and an interactive results.html.") { input, parameters, output, parallel, timeout };
        sweep.SetAction(async (parse, ct) =>
        {
            string path = parse.GetValue(input)!;
            if (!File.Exists(path)) throw new FileNotFoundException($"Notebook not found: {path}", path);
            var grid = (parse.GetValue(parameters) ?? []).Select(MovingImages.Notebooks.Sweeps.NotebookSweep.ParseAxis).ToArray();
            string folder = parse.GetValue(output) ?? Path.Combine("out", "sweeps", Path.GetFileNameWithoutExtension(path));
            var plan = new MovingImages.Notebooks.Sweeps.NotebookSweep(path, grid, folder);
            foreach (var run in plan.Runs) // an unknown name or a bad value fails now, not in run 7
                NotebookRunner.InjectParameters(NotebookDocument.Load(path), run.Parameters, ignoreUnknown: false, Path.GetFileName(path));
            io.Err.WriteLine($"sweep of {path}: {plan.Runs.Count} runs, {parse.GetValue(parallel)} at a time → {plan.Folder}");
            string seconds = parse.GetValue(timeout).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var results = await plan.RunAsync(async (run, token) =>
            {
                await using var logFile = new StreamWriter(run.LogFile);
                var args = new List<string> { "notebook", "exec", plan.Notebook, "--out", run.Executed(plan.Notebook), "--timeout", seconds };
                foreach (var (name, value) in run.Parameters) { args.Add("-p"); args.Add($"{name}={value}"); }
                return await RunKernelProcessAsync(args, Path.GetDirectoryName(plan.Notebook)!, new CliIO(logFile, logFile), token);
            }, parse.GetValue(parallel), line => { lock (io.Err) io.Err.WriteLine(line); }, ct);
            io.Out.WriteLine($"{results.Count(r => r.Ok)} of {results.Count} runs ok; {plan.CsvPath}; {plan.HtmlPath}");
            return ct.IsCancellationRequested ? 130 : results.All(r => r.Ok) ? 0 : 1;
        });
        return sweep;
    }

    /// <summary>One notebook in a process of its own, started in the notebook's folder: what a Jupyter kernel sees.</summary>
    static async Task<int> RunKernelProcessAsync(IReadOnlyList<string> args, string workingDirectory, CliIO io, CancellationToken ct)
    {
        var start = new ProcessStartInfo { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("cannot find the movingimages executable");
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
            start.ArgumentList.Add(typeof(NotebookCommand).Assembly.Location); // run as `dotnet MovingImages.Cli.dll`
        start.FileName = self;
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {self}");
        var pump = Task.WhenAll(Pump(process.StandardOutput, io.Out), Pump(process.StandardError, io.Err));
        using (ct.Register(() => { try { if (!process.HasExited) Interrupt(process); } catch (InvalidOperationException) { } }))
            await process.WaitForExitAsync(CancellationToken.None);
        await pump;
        return process.ExitCode;

        static async Task Pump(StreamReader from, TextWriter to)
        {
            var buffer = new char[4096];
            int n;
            while ((n = await from.ReadAsync(buffer)) > 0)
                lock (to) { to.Write(buffer, 0, n); to.Flush(); }
        }
    }

    /// <summary>Asks the kernel process to stop its cell (SIGINT, as Jupyter's interrupt; elsewhere it is killed).</summary>
    static void Interrupt(Process process)
    {
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
            _ = kill(process.Id, 2);
        else
            process.Kill(entireProcessTree: true);
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    static extern int kill(int pid, int signal);

    static Command Exec(CliIO io)
    {
        var input = new Argument<string>("notebook") { Description = "the .ipynb file" };
        var parameters = ParametersOption();
        var output = new Option<string>("--out") { Description = "the executed notebook", Required = true };
        var timeout = TimeoutOption();
        var ignore = new Option<bool>("--ignore-unknown") { Description = "skip -p names the notebook does not declare" };
        var exec = new Command("exec", "Run one notebook in this process, with the current folder as the kernel's (what `run` starts for each notebook).")
            { input, parameters, output, timeout, ignore };
        exec.Hidden = true;
        exec.SetAction(async (parse, ct) =>
        {
            var options = new NotebookRunOptions(NotebookParameters.Parse(parse.GetValue(parameters) ?? []), TimeSpan.FromSeconds(parse.GetValue(timeout)),
                parse.GetValue(ignore));
            string target = parse.GetValue(output)!;
            var result = await NotebookRunner.RunAsync(parse.GetValue(input)!, target, options, io.Err, ct);
            io.Out.WriteLine($"{result.Summary}; wrote {target}");
            return result.Succeeded ? 0 : ct.IsCancellationRequested ? 130 : 1;
        });
        return exec;
    }

    static Command KernelSpecCommand(CliIO io)
    {
        var path = new Option<string?>("--path") { Description = "Jupyter data folder to install into (default: Jupyter's user data folder, ~/.local/share/jupyter on Linux)" };
        var command = new Command("kernelspec", "Install the Jupyter kernel '.net-csharp' for these notebooks: the restored dotnet-interactive tool, started by its full path, HTTP on loopback only.")
            { path };
        command.SetAction(parse =>
        {
            string root = KernelSpec.FindRepositoryRoot(Environment.CurrentDirectory)
                          ?? throw new InvalidOperationException("run this inside the repository (no .config/dotnet-tools.json found above the current folder)");
            string dataDir = parse.GetValue(path) ?? DefaultJupyterDataDir();
            string file = KernelSpec.Install(dataDir, root);
            io.Out.WriteLine($"installed {file}");
            return 0;
        });
        return command;
    }

    static string DefaultJupyterDataDir()
    {
        if (Environment.GetEnvironmentVariable("JUPYTER_DATA_DIR") is { Length: > 0 } d) return d;
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (OperatingSystem.IsWindows()) return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData), "jupyter");
        if (OperatingSystem.IsMacOS()) return Path.Combine(home, "Library", "Jupyter");
        return Path.Combine(Environment.GetEnvironmentVariable("XDG_DATA_HOME") is { Length: > 0 } x ? x : Path.Combine(home, ".local", "share"), "jupyter");
    }
}
