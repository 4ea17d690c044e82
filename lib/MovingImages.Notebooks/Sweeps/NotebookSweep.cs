using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MovingImages.Interactive;
using XPlot.Plotly;

namespace MovingImages.Notebooks.Sweeps;

/// <summary>One combination of a sweep: its number, its parameter values and its folder.</summary>
/// <param name="Index">1-based number in the sweep.</param>
/// <param name="Parameters">Name → value, as given on the command line.</param>
/// <param name="Folder">Where this run's executed notebook, log and result go.</param>
public sealed record SweepRun(int Index, IReadOnlyDictionary<string, string> Parameters, string Folder)
{
    /// <summary>"learningRate=1e-4 filters=32": how the run is named in tables and charts.</summary>
    public string Label => string.Join(" ", Parameters.Select(p => $"{p.Key}={p.Value}"));
    /// <summary>The executed notebook.</summary>
    public string Executed(string notebook) => Path.Combine(Folder, Path.GetFileName(notebook));
    /// <summary>The run's result file (written when it ends; a sweep run again skips runs whose result says ok).</summary>
    public string ResultFile => Path.Combine(Folder, "result.json");
    /// <summary>What the run's kernel process printed.</summary>
    public string LogFile => Path.Combine(Folder, "log.txt");
}

/// <summary>How one run ended and what its notebook recorded.</summary>
/// <param name="Run">The run.</param>
/// <param name="Ok">Whether every cell ran.</param>
/// <param name="Seconds">Wall time of the run (of the first, completed run when it was resumed).</param>
/// <param name="Records">The values the notebook recorded (<c>NotebookDisplay.Record</c>), by name.</param>
/// <param name="Error">Why it failed, for failed runs.</param>
public sealed record SweepResult(SweepRun Run, bool Ok, double Seconds, IReadOnlyDictionary<string, JsonNode?> Records, string? Error = null);

/// <summary>
/// A hyperparameter sweep over a notebook: every combination of the given values, each run as
/// <c>movingimages notebook run</c> runs one notebook (a kernel process of its own), several at once when asked,
/// resumable (runs that completed are not run again), and a comparison of what the notebooks recorded: a CSV table and
/// an HTML page with the table and an interactive chart per recorded value (plotly.js embedded, no CDN).
/// </summary>
public sealed class NotebookSweep
{
    /// <summary>The mime type a notebook's <c>NotebookDisplay.Record(name, value)</c> output carries (like scrapbook's scraps).</summary>
    public const string RecordMimeType = "application/vnd.movingimages.record+json";

    /// <summary>A sweep of <paramref name="notebook"/> over <paramref name="grid"/>, writing under <paramref name="folder"/>.</summary>
    /// <exception cref="ArgumentException">An empty grid or a parameter without values.</exception>
    public NotebookSweep(string notebook, IReadOnlyList<(string Name, IReadOnlyList<string> Values)> grid, string folder)
    {
        if (grid.Count == 0) throw new ArgumentException("a sweep needs at least one -p name=value1,value2");
        foreach (var (name, values) in grid)
            if (values.Count == 0) throw new ArgumentException($"-p {name}: no values");
        if (grid.Select(g => g.Name).Distinct(StringComparer.Ordinal).Count() != grid.Count) throw new ArgumentException("a parameter is given twice");
        Notebook = Path.GetFullPath(notebook);
        Folder = Path.GetFullPath(folder);
        Grid = grid;
        Runs = Combinations(grid).Select((p, i) => new SweepRun(i + 1, p, Path.Combine(Folder, "runs", $"{i + 1:000}-{Slug(p)}"))).ToArray();
    }

    /// <summary>The notebook swept.</summary>
    public string Notebook { get; }
    /// <summary>The sweep's folder: runs/, results.csv, results.html.</summary>
    public string Folder { get; }
    /// <summary>The parameters and their values, in the order given.</summary>
    public IReadOnlyList<(string Name, IReadOnlyList<string> Values)> Grid { get; }
    /// <summary>Every combination, the last parameter varying fastest.</summary>
    public IReadOnlyList<SweepRun> Runs { get; }

    /// <summary>The comparison table.</summary>
    public string CsvPath => Path.Combine(Folder, "results.csv");
    /// <summary>The comparison page (table and charts).</summary>
    public string HtmlPath => Path.Combine(Folder, "results.html");

    /// <summary>Parses <c>name=v1,v2,…</c> (papermill's <c>-p</c> with a comma-separated list of values).</summary>
    public static (string Name, IReadOnlyList<string> Values) ParseAxis(string text)
    {
        int eq = text.IndexOf('=');
        if (eq <= 0) throw new ArgumentException($"-p {text}: expected name=value1,value2,…");
        var values = text[(eq + 1)..].Split(',').Select(v => v.Trim()).ToArray();
        if (values.Any(v => v.Length == 0)) throw new ArgumentException($"-p {text}: an empty value");
        return (text[..eq].Trim(), values);
    }

    /// <summary>Every combination of the grid's values.</summary>
    public static IReadOnlyList<IReadOnlyDictionary<string, string>> Combinations(IReadOnlyList<(string Name, IReadOnlyList<string> Values)> grid)
    {
        IEnumerable<IReadOnlyList<(string, string)>> rows = [[]];
        foreach (var (name, values) in grid)
            rows = rows.SelectMany(r => values.Select(v => (IReadOnlyList<(string, string)>)[.. r, (name, v)])).ToArray();
        return rows.Select(r => (IReadOnlyDictionary<string, string>)r.ToDictionary(p => p.Item1, p => p.Item2, StringComparer.Ordinal)).ToArray();
    }

    static string Slug(IReadOnlyDictionary<string, string> parameters)
    {
        var text = string.Join("_", parameters.Select(p => $"{p.Key}-{p.Value}"));
        var slug = new string(text.Select(c => char.IsLetterOrDigit(c) || c is '-' or '.' or '_' ? c : '_').ToArray());
        return slug.Length <= 80 ? slug : slug[..80];
    }

    /// <summary>
    /// Runs every combination that has no ok result yet — <paramref name="parallel"/> at a time, each through
    /// <paramref name="runOne"/> (which runs the notebook with the run's parameters, writes its executed copy to
    /// <see cref="SweepRun.Executed"/> and returns the process's exit code) — then writes the CSV and the HTML report.
    /// </summary>
    public async Task<IReadOnlyList<SweepResult>> RunAsync(Func<SweepRun, CancellationToken, Task<int>> runOne, int parallel = 1,
        Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        if (parallel < 1) throw new ArgumentException($"--parallel must be at least 1, not {parallel}");
        var results = new SweepResult?[Runs.Count];
        using var slots = new SemaphoreSlim(parallel);
        var tasks = Runs.Select(async (run, i) =>
        {
            if (Previous(run) is { Ok: true } done)
            {
                log?.Invoke($"[{run.Index}/{Runs.Count}] {run.Label}: done before, kept");
                results[i] = done;
                return;
            }
            await slots.WaitAsync(cancellationToken);
            try
            {
                cancellationToken.ThrowIfCancellationRequested();
                Directory.CreateDirectory(run.Folder);
                log?.Invoke($"[{run.Index}/{Runs.Count}] {run.Label}: running");
                var sw = System.Diagnostics.Stopwatch.StartNew();
                int code = await runOne(run, cancellationToken);
                var result = Collect(run, code, sw.Elapsed.TotalSeconds);
                if (!cancellationToken.IsCancellationRequested) WriteResult(result); // a stopped run is run again next time
                log?.Invoke($"[{run.Index}/{Runs.Count}] {run.Label}: {(result.Ok ? "ok" : "FAILED: " + result.Error)} in {result.Seconds:0} s" +
                            (result.Records.Count > 0 ? $" · {string.Join(", ", result.Records.Select(r => $"{r.Key} = {r.Value?.ToJsonString()}"))}" : ""));
                results[i] = result;
            }
            finally
            {
                slots.Release();
            }
        }).ToArray();
        try
        {
            await Task.WhenAll(tasks);
        }
        finally
        {
            var finished = results.OfType<SweepResult>().ToArray();
            if (finished.Length > 0) WriteReport(finished);
        }
        return results.Select(r => r!).ToArray();
    }

    SweepResult Collect(SweepRun run, int exitCode, double seconds)
    {
        string executed = run.Executed(Notebook);
        var records = File.Exists(executed) ? ReadRecords(executed) : new Dictionary<string, JsonNode?>();
        string? error = exitCode == 0 ? null
            : File.Exists(run.LogFile) ? File.ReadLines(run.LogFile).LastOrDefault(l => l.Contains("failed", StringComparison.OrdinalIgnoreCase)) ?? $"exit code {exitCode}; see {run.LogFile}"
            : $"exit code {exitCode}";
        return new SweepResult(run, exitCode == 0, seconds, records, error);
    }

    SweepResult? Previous(SweepRun run)
    {
        if (!File.Exists(run.ResultFile)) return null;
        try
        {
            var json = JsonNode.Parse(File.ReadAllText(run.ResultFile))!;
            var records = json["records"]!.AsObject().ToDictionary(p => p.Key, p => p.Value?.DeepClone());
            return new SweepResult(run, json["ok"]!.GetValue<bool>(), json["seconds"]!.GetValue<double>(), records, json["error"]?.GetValue<string>());
        }
        catch (Exception e) when (e is JsonException or NullReferenceException or InvalidOperationException or FormatException)
        {
            return null; // damaged: run it again
        }
    }

    static void WriteResult(SweepResult r)
    {
        var json = new JsonObject
        {
            ["parameters"] = new JsonObject(r.Run.Parameters.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
            ["ok"] = r.Ok, ["seconds"] = Math.Round(r.Seconds, 1), ["error"] = r.Error,
            ["records"] = new JsonObject(r.Records.Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone()))),
        };
        IO.AtomicFile.WriteText(r.Run.ResultFile, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>The values a notebook recorded, by name (the last one wins when a name is recorded twice).</summary>
    public static IReadOnlyDictionary<string, JsonNode?> ReadRecords(string executedNotebook)
    {
        var records = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        var cells = JsonNode.Parse(File.ReadAllText(executedNotebook))?["cells"]?.AsArray() ?? [];
        foreach (var output in cells.SelectMany(c => c?["outputs"]?.AsArray() ?? []))
        {
            if (output?["data"]?[RecordMimeType] is not { } data) continue;
            var record = data is JsonValue v && v.TryGetValue<string>(out var text) ? JsonNode.Parse(text)
                : data is JsonArray lines ? JsonNode.Parse(string.Concat(lines.Select(l => l!.GetValue<string>()))) : data;
            if (record?["name"]?.GetValue<string>() is { } name) records[name] = record["value"]?.DeepClone();
        }
        return records;
    }

    /// <summary>The names of everything the runs recorded, in first-seen order.</summary>
    static IReadOnlyList<string> RecordNames(IEnumerable<SweepResult> results) =>
        results.SelectMany(r => r.Records.Keys).Distinct(StringComparer.Ordinal).ToArray();

    void WriteReport(IReadOnlyList<SweepResult> results)
    {
        var ordered = results.OrderBy(r => r.Run.Index).ToArray();
        var names = RecordNames(ordered);
        var header = new[] { "run" }.Concat(Grid.Select(g => g.Name)).Concat(names).Concat(["status", "seconds"]).ToArray();
        var rows = ordered.Select(r => new[] { r.Run.Index.ToString(CultureInfo.InvariantCulture) }
            .Concat(Grid.Select(g => r.Run.Parameters[g.Name]))
            .Concat(names.Select(n => r.Records.TryGetValue(n, out var v) ? Text(v) : ""))
            .Concat([r.Ok ? "ok" : "failed", r.Seconds.ToString("0.0", CultureInfo.InvariantCulture)]).ToArray()).ToArray();
        var csv = new StringBuilder();
        foreach (var row in rows.Prepend(header)) csv.AppendLine(string.Join(",", row.Select(Csv)));
        IO.AtomicFile.WriteText(CsvPath, csv.ToString());

        string library = File.Exists(PlotlyLibrary) ? File.ReadAllText(PlotlyLibrary) : "";
        var body = new StringBuilder($"<p>{WebUtility.HtmlEncode(Notebook)}: {ordered.Length} of {Runs.Count} runs, {ordered.Count(r => r.Ok)} ok.</p><table><tr>");
        foreach (var h in header) body.Append("<th>").Append(WebUtility.HtmlEncode(h)).Append("</th>");
        body.Append("</tr>");
        foreach (var row in rows) body.Append("<tr>").Append(string.Concat(row.Select(c => $"<td>{WebUtility.HtmlEncode(c)}</td>"))).Append("</tr>");
        body.Append("</table>");
        if (library.Length == 0) body.Append($"<p>charts not drawn: plotly.js is missing ({WebUtility.HtmlEncode(PlotlyLibrary)}); build again with access to registry.npmjs.org.</p>");
        foreach (var name in names)
        {
            var points = ordered.Where(r => r.Ok && r.Records.TryGetValue(name, out var v) && Number(v) is not null).ToArray();
            if (points.Length == 0) continue;
            var chart = Chart.Plot(new Bar { x = points.Select(r => r.Run.Label).ToArray(), y = points.Select(r => Number(r.Records[name])!.Value).ToArray(), name = name });
            chart.WithLayout(new Layout.Layout { title = $"{name} per run", yaxis = new Yaxis { title = name }, margin = new Margin { b = 160 } });
            string id = "sweep-" + names.ToList().IndexOf(name);
            chart.WithId(id);
            body.Append(PlotlyHtml.Chart(id, chart.GetPlottingJS(), 900, 480, "plotly.js is missing from this page"));
        }
        IO.AtomicFile.WriteText(HtmlPath, PlotlyHtml.Page($"Sweep of {Path.GetFileName(Notebook)}", library, body.ToString()));
    }

    /// <summary>plotly.min.js beside this assembly (the build puts it there).</summary>
    public static string PlotlyLibrary { get; } = PlotlyHtml.LibraryPath(typeof(NotebookSweep));

    static double? Number(JsonNode? value) => value is JsonValue v && v.TryGetValue<double>(out var d) && double.IsFinite(d) ? d : null;

    static string Text(JsonNode? value) => value switch
    {
        null => "",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonValue v when v.TryGetValue<double>(out var d) => d.ToString("R", CultureInfo.InvariantCulture),
        _ => value.ToJsonString(),
    };

    static string Csv(string cell) => cell.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + cell.Replace("\"", "\"\"") + "\"" : cell;
}
