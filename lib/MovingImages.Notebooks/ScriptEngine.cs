using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;
using Microsoft.CodeAnalysis.Scripting.Hosting;
using Microsoft.DotNet.Interactive.Formatting;

namespace MovingImages.Notebooks;

/// <summary>A value shown with <c>display(…)</c>; <see cref="Update"/> replaces it in place (live views, progress).</summary>
public sealed class DisplayHandle
{
    readonly ScriptEngine.OutputList _outputs;
    readonly int _index;

    internal DisplayHandle(ScriptEngine.OutputList outputs, int index, string id)
    {
        _outputs = outputs;
        _index = index;
        Id = id;
    }

    /// <summary>The display id (Jupyter's <c>display_id</c>).</summary>
    public string Id { get; }

    /// <summary>Replaces the displayed value.</summary>
    public void Update(object? value) => _outputs.Replace(_index, ScriptEngine.Format(value) with { DisplayId = Id });
}

/// <summary>What notebook code sees as globals: <c>display(…)</c> as in .NET Interactive, and the run's cancellation token.</summary>
public class NotebookGlobals
{
    internal ScriptEngine.OutputList? Current;

    /// <summary>Cancelled when the run is interrupted or a cell times out: long loops should pass it on.</summary>
    public CancellationToken CancellationToken { get; internal set; }

    /// <summary>Shows a value in the cell's output (as image, HTML or text by its registered formatters); returns a handle to update it.</summary>
    public DisplayHandle display(object? value) => (Current ?? throw new InvalidOperationException("display() outside a running cell")).Display(value);
}

/// <summary>
/// Executes C# cells one after another with state carried from cell to cell (Roslyn scripting, the engine of the
/// .NET Interactive C# kernel). Cells in, outputs out: no files here, so a Jupyter kernel can reuse it.
/// Supports <c>#r "nuget: Name, Version"</c> for packages the engine ships, <c>#r "path.dll"</c>, <c>#load "file.csx"</c>,
/// and the <c>#!csharp</c> / <c>#!markdown</c> cell magics.
/// </summary>
public sealed partial class ScriptEngine : IDisposable
{
    /// <summary>NuGet packages available to <c>#r "nuget: …"</c>: package id → the assembly it brings (already loaded here).</summary>
    public static IReadOnlyDictionary<string, Assembly> ShippedPackages { get; } = new Dictionary<string, Assembly>(StringComparer.OrdinalIgnoreCase)
    {
        ["TorchSharp"] = typeof(TorchSharp.torch).Assembly,
        ["TorchSharp-cpu"] = typeof(TorchSharp.torch).Assembly,
        ["OpenCvSharp4"] = typeof(OpenCvSharp.Mat).Assembly,
        ["OpenCvSharp4.official.runtime.linux-x64"] = typeof(OpenCvSharp.Mat).Assembly,
        ["ScottPlot"] = typeof(ScottPlot.Plot).Assembly,
        ["Microsoft.DotNet.Interactive.Formatting"] = typeof(Formatter).Assembly,
        ["MovingImages"] = typeof(ObjectDetection.Yolo).Assembly,
    };

    readonly NotebookGlobals _globals = new();
    readonly CancellationTokenSource _cancel = new();
    readonly string _directory;
    ScriptOptions _options;
    ScriptState<object>? _state;
    int _executionCount;
    bool _broken;

    /// <summary>Creates an engine; relative <c>#r</c> and <c>#load</c> paths resolve against <paramref name="directory"/>.</summary>
    public ScriptEngine(string directory)
    {
        _directory = Path.GetFullPath(directory);
        foreach (var a in ShippedPackages.Values) _ = a.FullName; // make sure they are loaded
        Notebook.NotebookDisplay.Register();
        var references = AppDomain.CurrentDomain.GetAssemblies()
            .Where(a => !a.IsDynamic && a.Location.Length > 0)
            .GroupBy(a => a.GetName().Name).Select(g => g.First());
        _options = ScriptOptions.Default
            .WithReferences(references)
            .WithImports("System", "System.IO", "System.Linq", "System.Collections.Generic", "System.Threading", "System.Threading.Tasks")
            .WithMetadataResolver(ScriptMetadataResolver.Default.WithBaseDirectory(_directory).WithSearchPaths(_directory))
            .WithSourceResolver(new SourceFileResolver([], _directory))
            .WithEmitDebugInformation(true)
            .WithFileEncoding(Encoding.UTF8)
            .WithAllowUnsafe(true);
        _globals.CancellationToken = _cancel.Token;
        ConsoleRouter.Install();
    }

    /// <summary>How many cells have run (the next cell's execution count is this + 1).</summary>
    public int ExecutionCount => _executionCount;

    /// <summary>Variables defined so far (latest definition of each name), with their current values.</summary>
    public IReadOnlyDictionary<string, (Type Type, object? Value)> Variables =>
        _state == null ? new Dictionary<string, (Type Type, object? Value)>()
            : _state.Variables.GroupBy(v => v.Name).ToDictionary(g => g.Key, g => (g.Last().Type, (object?)g.Last().Value));

    /// <summary>Runs one cell. <paramref name="cellNumber"/> (1-based) names it in errors and stack traces.</summary>
    public async Task<CellResult> ExecuteAsync(string source, int cellNumber, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var outputs = new OutputList();
        var sw = Stopwatch.StartNew();
        if (_broken)
            return Fail(outputs, new ErrorOutput("EngineStopped", "an earlier cell timed out; its code may still be running, so no more cells run", []), sw);
        int count = ++_executionCount;
        string code;
        try { code = Preprocess(source, cellNumber); }
        catch (NotebookDirectiveException e) { return Fail(outputs, new ErrorOutput("DirectiveError", e.Message, [$"cell {cellNumber}: {e.Message}"]), sw); }
        if (code.Trim().Length == 0) return new CellResult(outputs, null, sw.Elapsed);

        var options = _options.WithFilePath($"cell{cellNumber}");
        _globals.Current = outputs;
        ConsoleRouter.Target = outputs;
        var run = Task.Factory.StartNew(() =>
        {
            return _state == null
                ? CSharpScript.RunAsync(code, options, _globals, typeof(NotebookGlobals), _cancel.Token).GetAwaiter().GetResult()
                : _state.ContinueWithAsync(code, options, _cancel.Token).GetAwaiter().GetResult();
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(timeout ?? Timeout.InfiniteTimeSpan, linked.Token);
        var first = await Task.WhenAny(run, delay);
        linked.Cancel();
        try
        {
            if (first != run)
            {
                _cancel.Cancel();
                _broken = true;
                string why = cancellationToken.IsCancellationRequested ? "interrupted" : $"timed out after {timeout!.Value.TotalSeconds:0.#} s";
                return Fail(outputs, new ErrorOutput("CellTimeout", $"cell {cellNumber} {why}", [$"cell {cellNumber} {why}; the run stops here"]), sw);
            }
            try
            {
                _state = await run;
            }
            catch (CompilationErrorException e)
            {
                var lines = e.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => DescribeDiagnostic(d, cellNumber)).ToArray();
                return Fail(outputs, new ErrorOutput("CompilationError", lines.FirstOrDefault() ?? e.Message, lines), sw);
            }
            catch (Exception e)
            {
                var inner = e is AggregateException { InnerExceptions.Count: 1 } a ? a.InnerExceptions[0] : e;
                return Fail(outputs, Describe(inner, cellNumber), sw);
            }
            if (_state.Exception is { } thrown) return Fail(outputs, Describe(thrown, cellNumber), sw);
            if (_state.ReturnValue is { } value) outputs.Add(Format(value) with { ExecutionCount = count });
            return new CellResult(outputs, null, sw.Elapsed);
        }
        finally
        {
            ConsoleRouter.Flush();
        }
    }

    static CellResult Fail(OutputList outputs, ErrorOutput error, Stopwatch sw)
    {
        ConsoleRouter.Flush();
        outputs.Add(error);
        return new CellResult(outputs, error, sw.Elapsed);
    }

    static string DescribeDiagnostic(Diagnostic d, int cellNumber)
    {
        var span = d.Location.GetLineSpan();
        return $"cell {cellNumber}, line {span.StartLinePosition.Line + 1}: error {d.Id}: {d.GetMessage()}";
    }

    static ErrorOutput Describe(Exception e, int cellNumber)
    {
        var trace = new List<string> { $"cell {cellNumber}: {e.GetType().FullName}: {e.Message}" };
        foreach (var line in (e.StackTrace ?? "").Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0))
        {
            if (line.Contains("Microsoft.CodeAnalysis.Scripting", StringComparison.Ordinal)) break; // the engine's own frames
            trace.Add(CellLine().Replace(line, m => $"cell {m.Groups[1].Value}, line {m.Groups[2].Value}"));
        }
        return new ErrorOutput(e.GetType().Name, $"cell {cellNumber}: {e.Message}", trace);
    }

    [GeneratedRegex(@"cell(\d+):line (\d+)")]
    private static partial Regex CellLine();

    // ------------------------------------------------------------------ directives

    /// <summary>
    /// Handles what Roslyn scripting does not: cell magics and <c>#r "nuget: …"</c>; drops <c>#r</c> of assemblies the
    /// engine has loaded already (so types are not loaded twice). Lines are blanked, not removed, so line numbers hold.
    /// </summary>
    internal static string Preprocess(string source, int cellNumber)
    {
        var lines = source.Replace("\r\n", "\n").Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.StartsWith("#!", StringComparison.Ordinal))
            {
                string magic = line[2..].Split(' ', 2)[0].ToLowerInvariant();
                if (magic is "csharp" or "c#") { lines[i] = ""; continue; }
                if (magic == "markdown" && i == 0) return "";
                throw new NotebookDirectiveException($"cell {cellNumber}, line {i + 1}: the magic command '#!{magic}' is not supported here (only #!csharp and #!markdown)");
            }
            var r = ReferenceDirective().Match(line);
            if (!r.Success) continue;
            string target = r.Groups[1].Value.Trim();
            if (target.StartsWith("nuget:", StringComparison.OrdinalIgnoreCase))
            {
                var parts = target[6..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                string id = parts.Length > 0 ? parts[0] : "";
                if (!ShippedPackages.ContainsKey(id))
                    throw new NotebookDirectiveException($"cell {cellNumber}, line {i + 1}: package '{id}' is not available: the runner cannot download packages and ships only {string.Join(", ", ShippedPackages.Keys.Order())}");
                lines[i] = $"// {line} (shipped with the runner)";
                continue;
            }
            string name = Path.GetFileNameWithoutExtension(target);
            if (AppDomain.CurrentDomain.GetAssemblies().Any(a => string.Equals(a.GetName().Name, name, StringComparison.OrdinalIgnoreCase)))
                lines[i] = $"// {line} (already loaded by the runner)";
        }
        return string.Join('\n', lines);
    }

    [GeneratedRegex(@"^#r\s+""([^""]+)""\s*$")]
    private static partial Regex ReferenceDirective();

    // ------------------------------------------------------------------ display

    /// <summary>Formats a value for display with .NET Interactive's formatters: its preferred MIME types plus text/plain.</summary>
    internal static DisplayOutput Format(object? value)
    {
        var data = new Dictionary<string, string>();
        if (value is null) data["text/plain"] = "<null>";
        else if (value is string s) data["text/plain"] = s;
        else
        {
            foreach (var mime in Formatter.GetPreferredMimeTypesFor(value.GetType()))
                data[mime] = Formatter.ToDisplayString(value, mime);
            if (!data.ContainsKey("text/plain")) data["text/plain"] = Formatter.ToDisplayString(value, "text/plain");
        }
        return new DisplayOutput(data);
    }

    /// <summary>A cell's outputs, appended to by display calls and console writes (any thread), replaced by display handles.</summary>
    internal sealed class OutputList : IReadOnlyList<CellOutput>
    {
        readonly List<CellOutput> _items = new();
        int _displays;

        public DisplayHandle Display(object? value)
        {
            ConsoleRouter.Flush();
            lock (_items)
            {
                string id = $"display-{Environment.ProcessId}-{Interlocked.Increment(ref _displays)}-{Guid.NewGuid():N}";
                _items.Add(Format(value) with { DisplayId = id });
                return new DisplayHandle(this, _items.Count - 1, id);
            }
        }

        public void Add(CellOutput output)
        {
            lock (_items)
            {
                // consecutive text on the same stream becomes one output, as Jupyter shows it
                if (output is StreamOutput s && _items.Count > 0 && _items[^1] is StreamOutput last && last.Name == s.Name)
                    _items[^1] = last with { Text = last.Text + s.Text };
                else _items.Add(output);
            }
        }

        public void Replace(int index, CellOutput output)
        {
            lock (_items) _items[index] = output;
        }

        public CellOutput this[int index] { get { lock (_items) return _items[index]; } }
        public int Count { get { lock (_items) return _items.Count; } }
        public IEnumerator<CellOutput> GetEnumerator() { lock (_items) return _items.ToList().GetEnumerator(); }
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>Cancels whatever is running and stops the engine.</summary>
    public void Dispose()
    {
        _cancel.Cancel();
        _cancel.Dispose();
    }
}

/// <summary>A directive the engine cannot honour (unknown package, unsupported magic).</summary>
public sealed class NotebookDirectiveException(string message) : Exception(message);

/// <summary>Sends Console.Out/Error into the running cell's outputs (once installed, for the whole process).</summary>
internal static class ConsoleRouter
{
    static readonly Lock Gate = new();
    static bool _installed;
    static readonly StringBuilder Out = new(), Err = new();
    internal static ScriptEngine.OutputList? Target;

    public static void Install()
    {
        lock (Gate)
        {
            if (_installed) return;
            _installed = true;
            Console.SetOut(new Writer(Out, "stdout"));
            Console.SetError(new Writer(Err, "stderr"));
        }
    }

    public static void Flush()
    {
        lock (Gate)
        {
            if (Target == null) { Out.Clear(); Err.Clear(); return; }
            if (Out.Length > 0) { Target.Add(new StreamOutput("stdout", Out.ToString())); Out.Clear(); }
            if (Err.Length > 0) { Target.Add(new StreamOutput("stderr", Err.ToString())); Err.Clear(); }
        }
    }

    sealed class Writer(StringBuilder buffer, string name) : TextWriter
    {
        public override Encoding Encoding => Encoding.UTF8;
        public override void Write(char value) { lock (Gate) buffer.Append(value); }
        public override void Write(string? value) { lock (Gate) buffer.Append(value); }
        public override void WriteLine(string? value) { lock (Gate) buffer.Append(value).Append('\n'); }
        public override string ToString() => name;
    }
}
