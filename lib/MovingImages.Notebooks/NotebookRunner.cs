using System.Diagnostics;
using System.Globalization;
using Microsoft.CodeAnalysis.CSharp;

namespace MovingImages.Notebooks;

/// <summary>Options of a notebook run.</summary>
/// <param name="Parameters">Values that override the parameters cell (papermill's <c>-p name=value</c>).</param>
/// <param name="CellTimeout">Longest a single cell may run.</param>
/// <param name="SetWorkingDirectory">Run with the notebook's folder as the current directory (as Jupyter does).</param>
/// <param name="IgnoreUnknownParameters">Skip (and log) parameters this notebook does not declare, instead of failing
/// (for running a folder of notebooks with one set of values).</param>
public sealed record NotebookRunOptions(IReadOnlyDictionary<string, string>? Parameters = null, TimeSpan? CellTimeout = null,
    bool SetWorkingDirectory = true, bool IgnoreUnknownParameters = false);

/// <summary>What a notebook run did.</summary>
/// <param name="Notebook">The executed notebook (outputs filled in).</param>
/// <param name="Succeeded">Whether every cell ran without error.</param>
/// <param name="FailedCell">1-based number of the failing cell (as counted in the executed notebook), if any.</param>
/// <param name="Summary">One line: what happened.</param>
/// <param name="CellTimes">Seconds per executed code cell, in order.</param>
public sealed record NotebookRunResult(NotebookFile Notebook, bool Succeeded, int? FailedCell, string Summary, IReadOnlyList<(int Cell, double Seconds)> CellTimes);

/// <summary>
/// Runs a <c>.ipynb</c> from top to bottom on a <see cref="ScriptEngine"/>: markdown cells are kept, code cells run in
/// order, outputs and execution counts are filled in, <c>-p</c> values are injected after the cell tagged
/// <c>parameters</c> (in a new cell tagged <c>injected-parameters</c>, as papermill does), and the run stops at the first
/// failing cell.
/// </summary>
public static class NotebookRunner
{
    /// <summary>Runs the notebook at <paramref name="path"/>; <paramref name="log"/> gets one progress line per cell.</summary>
    public static async Task<NotebookRunResult> RunAsync(string path, NotebookRunOptions? options = null, TextWriter? log = null, CancellationToken cancellationToken = default)
    {
        options ??= new NotebookRunOptions();
        var notebook = NotebookFile.Load(path);
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string previous = Environment.CurrentDirectory;
        if (options.SetWorkingDirectory) Environment.CurrentDirectory = dir;
        try
        {
            using var engine = new ScriptEngine(dir);
            var pending = new Dictionary<string, string>(options.Parameters ?? new Dictionary<string, string>());
            bool sawParameters = false;
            var times = new List<(int, double)>();
            for (int i = 0; i < notebook.Cells.Count; i++)
            {
                var cell = notebook.Cells[i];
                if (cell.CellType != "code") continue;
                int number = i + 1;
                if (cell.Language is { } lang && lang is not ("csharp" or "C#" or "c#"))
                {
                    var error = new ErrorOutput("UnsupportedLanguage", $"cell {number} is {lang}; only C# cells can run here", [$"cell {number}: language '{lang}' is not supported"]);
                    cell.SetOutputs([error], null);
                    return Finish(notebook, number, $"{Path.GetFileName(path)}: cell {number} failed: {error.Value}", times, log);
                }
                log?.Write($"cell {number}/{notebook.Cells.Count}… ");
                var sw = Stopwatch.StartNew();
                using var heartbeat = new Timer(_ => log?.Write($"({sw.Elapsed.TotalSeconds:0} s) "), null, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(15));
                var result = await engine.ExecuteAsync(cell.Source, number, options.CellTimeout, cancellationToken);
                heartbeat.Dispose();
                log?.WriteLine(result.Succeeded ? $"{result.Elapsed.TotalSeconds:0.0} s" : "FAILED");
                cell.SetOutputs(result.Outputs, engine.ExecutionCount);
                times.Add((number, result.Elapsed.TotalSeconds));
                if (!result.Succeeded)
                    return Finish(notebook, number, $"{Path.GetFileName(path)}: cell {number} failed: {result.Error!.Value}", times, log);

                if (!sawParameters && cell.Tags.Contains("parameters"))
                {
                    sawParameters = true;
                    if (pending.Count == 0) continue;
                    string injected;
                    if (options.IgnoreUnknownParameters)
                    {
                        var known = engine.Variables;
                        foreach (var unknown in pending.Keys.Where(k => !known.ContainsKey(k)).ToArray())
                        {
                            log?.WriteLine($"-p {unknown}: not a parameter of {Path.GetFileName(path)}; skipped");
                            pending.Remove(unknown);
                        }
                        if (pending.Count == 0) continue;
                    }
                    try { injected = Injection(engine, pending); }
                    catch (ArgumentException e)
                    {
                        var error = new ErrorOutput("ParameterError", e.Message, [e.Message]);
                        var inserted = notebook.InsertCodeCell(i + 1, "// injected parameters", "injected-parameters");
                        inserted.SetOutputs([error], null);
                        return Finish(notebook, i + 2, $"{Path.GetFileName(path)}: {e.Message}", times, log);
                    }
                    notebook.InsertCodeCell(i + 1, injected, "injected-parameters");
                    pending.Clear();
                }
            }
            if (pending.Count > 0 && !sawParameters && !options.IgnoreUnknownParameters)
                return Finish(notebook, null, $"{Path.GetFileName(path)} has no cell tagged 'parameters', so -p {string.Join(", ", pending.Keys)} cannot be applied", times, log);
            string summary = $"{Path.GetFileName(path)}: {times.Count} cells ran in {times.Sum(t => t.Item2):0.0} s";
            return new NotebookRunResult(notebook, true, null, summary, times);
        }
        finally
        {
            if (options.SetWorkingDirectory) Environment.CurrentDirectory = previous;
        }
    }

    static NotebookRunResult Finish(NotebookFile notebook, int? cell, string summary, List<(int, double)> times, TextWriter? log)
    {
        log?.WriteLine(summary);
        return new NotebookRunResult(notebook, false, cell, summary, times);
    }

    /// <summary>C# assignments for the overrides, typed by the variables the parameters cell declared.</summary>
    internal static string Injection(ScriptEngine engine, IReadOnlyDictionary<string, string> parameters)
    {
        var variables = engine.Variables;
        var lines = new List<string> { "// Parameters injected by movingimages notebook run (-p)" };
        foreach (var (name, raw) in parameters)
        {
            if (!variables.TryGetValue(name, out var variable))
                throw new ArgumentException($"-p {name}: the parameters cell declares no '{name}' (it declares {string.Join(", ", variables.Keys.Order())})");
            lines.Add($"{name} = {Literal(variable.Type, raw, name)};");
        }
        return string.Join('\n', lines) + "\n";
    }

    internal static string Literal(Type type, string raw, string name)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (Nullable.GetUnderlyingType(type) != null && raw is "null" or "") return "null";
        var c = CultureInfo.InvariantCulture;
        string Bad() => throw new ArgumentException($"-p {name}={raw}: not a valid {t.Name}");
        return t switch
        {
            _ when t == typeof(string) => SymbolDisplay.FormatLiteral(raw, quote: true),
            _ when t == typeof(int) => int.TryParse(raw, NumberStyles.Integer, c, out var v) ? v.ToString(c) : Bad(),
            _ when t == typeof(long) => long.TryParse(raw, NumberStyles.Integer, c, out var v) ? v.ToString(c) + "L" : Bad(),
            _ when t == typeof(float) => float.TryParse(raw, NumberStyles.Float, c, out var v) ? v.ToString("R", c) + "f" : Bad(),
            _ when t == typeof(double) => double.TryParse(raw, NumberStyles.Float, c, out var v) ? v.ToString("R", c) + "d" : Bad(),
            _ when t == typeof(bool) => bool.TryParse(raw, out var v) ? (v ? "true" : "false") : Bad(),
            _ => throw new ArgumentException($"-p {name}: parameters of type {type.Name} cannot be set from the command line (string, int, long, float, double, bool)"),
        };
    }
}
