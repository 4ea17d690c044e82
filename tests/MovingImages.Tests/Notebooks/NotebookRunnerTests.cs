using System.Diagnostics;
using System.Text.Json.Nodes;
using MovingImages.Notebooks;

namespace MovingImages.Tests.Notebooks;

/// <summary>A notebook written by a test: code cells (optionally tagged) and markdown.</summary>
internal static class TestNotebook
{
    public static string Write(string name, params (string Source, string? Tag)[] cells)
    {
        var dir = TestData.NewTempDir("nb");
        var json = new JsonObject
        {
            ["cells"] = new JsonArray(cells.Select(c => (JsonNode)new JsonObject
            {
                ["cell_type"] = c.Tag == "markdown" ? "markdown" : "code",
                ["metadata"] = c.Tag is null or "markdown" ? new JsonObject() : new JsonObject { ["tags"] = new JsonArray(c.Tag) },
                ["source"] = c.Source,
                ["outputs"] = new JsonArray(),
                ["execution_count"] = null,
            }).ToArray()),
            ["metadata"] = new JsonObject { ["kernelspec"] = new JsonObject { ["name"] = ".net-csharp", ["display_name"] = ".NET (C#)", ["language"] = "C#" } },
            ["nbformat"] = 4,
            ["nbformat_minor"] = 2,
        };
        foreach (var cell in json["cells"]!.AsArray())
            if (cell!["cell_type"]!.GetValue<string>() == "markdown") { cell.AsObject().Remove("outputs"); cell.AsObject().Remove("execution_count"); }
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, json.ToJsonString());
        return path;
    }

}

/// <summary>Runs notebooks in this process, one at a time (the kernel captures the process's console while a cell runs).</summary>
[CollectionDefinition("in-process kernel", DisableParallelization = true)]
public class InProcessKernelCollection;

[Collection("in-process kernel")]
public class NotebookRunnerTests
{
    /// <summary>The library's notebook layer, as a notebook's setup cell loads it.</summary>
    internal static string InteractiveDll => Path.Combine(TestData.RepoRoot, "lib", "MovingImages.Interactive", "bin", "Debug", "net10.0", "MovingImages.Interactive.dll");

    static async Task<(NotebookRunResult Result, JsonArray Cells, JsonNode Root)> Run(string path, NotebookRunOptions? options = null)
    {
        string output = Path.Combine(TestData.NewTempDir("nb-out"), Path.GetFileName(path));
        var result = await NotebookRunner.RunAsync(path, output, options);
        var root = JsonNode.Parse(File.ReadAllText(output))!;
        return (result, root["cells"]!.AsArray(), root);
    }

    static JsonArray Outputs(JsonArray cells, int cell) => cells[cell - 1]!["outputs"]!.AsArray();
    static string Text(JsonNode o) => o["text"] is { } t ? Lines(t) : o["data"]?["text/plain"] is { } p ? Lines(p)
        : o["data"]?["text/html"] is { } h ? Lines(h) : o["evalue"]?.GetValue<string>() ?? "";
    static string Lines(JsonNode n) => n is JsonArray a ? string.Concat(a.Select(l => l!.GetValue<string>())) : n.GetValue<string>();

    [Fact]
    public async Task State_carries_from_cell_to_cell_and_output_is_captured()
    {
        var path = TestNotebook.Write("state.ipynb",
            ("# title", "markdown"),
            ("var x = 20;\nConsole.WriteLine(\"hello\");\nConsole.Error.WriteLine(\"careful\");", null),
            ("int Twice(int v) => 2 * v;", null),
            ("Twice(x) + 2", null));
        var (r, cells, root) = await Run(path);
        Assert.True(r.Succeeded, r.Summary);
        Assert.Equal("hello\n", Text(Outputs(cells, 2).Single(o => o!["name"]?.GetValue<string>() == "stdout")!));
        Assert.Equal("careful\n", Text(Outputs(cells, 2).Single(o => o!["name"]?.GetValue<string>() == "stderr")!));
        var result = Assert.Single(Outputs(cells, 4))!;
        Assert.Equal("execute_result", result["output_type"]!.GetValue<string>());
        Assert.Contains("42", Lines(result["data"]!["text/html"] ?? result["data"]!["text/plain"]!));
        Assert.Equal(3, cells[3]!["execution_count"]!.GetValue<int>());
        Assert.Null(cells[0]!["outputs"]); // markdown untouched
        // nbformat 4.5: every cell has an id
        Assert.Equal(5, root["nbformat_minor"]!.GetValue<int>());
        Assert.All(cells, c => Assert.False(string.IsNullOrEmpty(c!["id"]?.GetValue<string>())));
    }

    [Fact]
    public async Task Parameters_given_with_p_are_typed_by_the_parameters_cell_and_injected_after_it()
    {
        var path = TestNotebook.Write("params.ipynb",
            ("var n = 1;\nvar name = \"a\";\nvar rate = 0.5f;\nvar precise = 1e-3;\nvar on = false;\nint? limit = 5;\nvar big = 3L;", "parameters"),
            ("$\"{n}|{name}|{rate}|{precise}|{on}|{limit}|{big}\"", null));
        var values = new Dictionary<string, string> { ["n"] = "7", ["name"] = "he said \"hi\"", ["rate"] = "0.25", ["precise"] = "5e-05", ["on"] = "true", ["limit"] = "null", ["big"] = "9" };
        var (r, cells, _) = await Run(path, new NotebookRunOptions(values));
        Assert.True(r.Succeeded, r.Summary);
        Assert.Equal(3, cells.Count);
        Assert.Contains("injected-parameters", cells[1]!["metadata"]!["tags"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal("7|he said \"hi\"|0.25|5E-05|True||9", Text(Outputs(cells, 3).Single()!));

        var (bad, badCells, _) = await Run(path, new NotebookRunOptions(new Dictionary<string, string> { ["nope"] = "1" }));
        Assert.False(bad.Succeeded);
        Assert.Contains("declares no 'nope'; its parameters are big, limit, n, name, on, precise, rate", bad.Summary);
        Assert.All(badCells, c => Assert.Empty(c!["outputs"]!.AsArray())); // nothing ran
        var (badValue, _, _) = await Run(path, new NotebookRunOptions(new Dictionary<string, string> { ["n"] = "seven" }));
        Assert.Contains("-p n=seven: not a valid Int32", badValue.Summary);
    }

    [Fact]
    public async Task An_exception_in_cell_3_stops_the_run_keeps_earlier_outputs_and_names_cell_3()
    {
        var path = TestNotebook.Write("boom.ipynb",
            ("Console.WriteLine(\"one\");", null),
            ("var b = 2;", null),
            ("var c = b + 1;\nthrow new InvalidOperationException(\"boom\");", null),
            ("Console.WriteLine(\"never\");", null));
        var (r, cells, _) = await Run(path);
        Assert.False(r.Succeeded);
        Assert.Equal(3, r.FailedCell);
        Assert.Equal("one\n", Text(Outputs(cells, 1).Single()!));
        var error = Outputs(cells, 3).Single()!;
        Assert.Equal("error", error["output_type"]!.GetValue<string>());
        Assert.Contains("boom", error["evalue"]!.GetValue<string>());
        Assert.Contains("cell 3 failed", r.Summary);
        Assert.Empty(Outputs(cells, 4));
    }

    [Fact]
    public async Task Compilation_errors_are_error_outputs_and_the_notebook_is_still_written()
    {
        var path = TestNotebook.Write("typo.ipynb", ("var ok = 1;", null), ("var x = 1;\nvar y = undefinedThing + 1;", null));
        var (r, cells, _) = await Run(path);
        Assert.False(r.Succeeded);
        Assert.Contains("CS0103", Outputs(cells, 2).Single()!["evalue"]!.GetValue<string>());
        Assert.Contains("undefinedThing", r.Summary);
    }

    [Fact]
    public async Task A_display_made_in_the_cell_is_updated_in_place_from_a_background_thread()
    {
        Assert.True(File.Exists(InteractiveDll), $"build first: {InteractiveDll}");
        var path = TestNotebook.Write("live.ipynb",
            ($"#r \"{InteractiveDll}\"\nusing MovingImages.Interactive;\nNotebookDisplay.Register();", null),
            ("var view = NotebookDisplay.Show(\"starting…\");\n" +
             "await Task.Run(() => { for (int i = 1; i <= 3; i++) view.Update(new OpenCvSharp.Mat(8 * i, 10, OpenCvSharp.MatType.CV_8UC3, OpenCvSharp.Scalar.Red)); });\n" +
             "view.Updates", null));
        var (r, cells, _) = await Run(path);
        Assert.True(r.Succeeded, r.Summary);
        var outputs = Outputs(cells, 2);
        var display = outputs.Single(o => o!["output_type"]!.GetValue<string>() == "display_data")!;
        string html = Lines(display["data"]!["text/html"]!);
        Assert.Contains("<img src=\"data:image/png;base64,", html); // the text placeholder was replaced by the image
        var png = Convert.FromBase64String(html.Split("base64,")[1].Split('"')[0]);
        using var image = OpenCvSharp.Cv2.ImDecode(png, OpenCvSharp.ImreadModes.Color);
        Assert.Equal(24, image.Rows); // the last update
        Assert.Contains("3", Text(outputs.Single(o => o!["output_type"]!.GetValue<string>() == "execute_result")!));
    }

    [Fact]
    public void A_hung_cell_is_stopped_by_the_timeout_and_the_command_fails()
    {
        var path = TestNotebook.Write("hang.ipynb", ("var started = true;", null), ("while (true) { }", null), ("Console.WriteLine(\"never\");", null));
        var outDir = TestData.NewTempDir("hang-out");
        var sw = Stopwatch.StartNew();
        var (code, stdout, stderr) = CliProcess.Run(["notebook", "run", path, "--timeout", "10", "--out", outDir], TimeSpan.FromMinutes(2));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(90), $"took {sw.Elapsed}");
        Assert.NotEqual(0, code);
        Assert.Contains("hang.ipynb: cell 2 failed: timed out after 10 s", stdout + stderr);
        var saved = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "hang.ipynb")))!["cells"]!.AsArray();
        Assert.Equal("error", saved[1]!["outputs"]![0]!["output_type"]!.GetValue<string>());
    }

    [Fact]
    public void A_cell_that_ends_the_process_loses_nothing_before_it()
    {
        var path = TestNotebook.Write("exit.ipynb", ("Console.WriteLine(\"kept\");", null), ("Environment.Exit(3);", null), ("Console.WriteLine(\"never\");", null));
        var outDir = TestData.NewTempDir("exit-out");
        var (code, stdout, stderr) = CliProcess.Run(["notebook", "run", path, "--out", outDir], TimeSpan.FromMinutes(2));
        Assert.NotEqual(0, code);
        Assert.Contains("exit code 3", stdout + stderr);
        var saved = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "exit.ipynb")))!["cells"]!.AsArray();
        Assert.Equal("kept\n", Text(saved[0]!["outputs"]![0]!));
    }

    [Fact]
    public void Bad_files_and_bad_options_get_one_clear_line()
    {
        var dir = TestData.NewTempDir("bad-nb");
        File.WriteAllText(Path.Combine(dir, "broken.ipynb"), "{ \"cells\": [ ");
        var (code, _, err) = CliProcess.Run(["notebook", "run", Path.Combine(dir, "broken.ipynb"), "--out", Path.Combine(dir, "out")], TimeSpan.FromMinutes(1));
        Assert.Equal(1, code);
        Assert.Contains("broken.ipynb: not JSON", err);
        Assert.DoesNotContain("   at ", err);

        File.WriteAllText(Path.Combine(dir, "old.ipynb"), "{ \"nbformat\": 3, \"worksheets\": [] }");
        (code, _, err) = CliProcess.Run(["notebook", "run", Path.Combine(dir, "old.ipynb"), "--out", Path.Combine(dir, "out")], TimeSpan.FromMinutes(1));
        Assert.Equal(1, code);
        Assert.Contains("old.ipynb: 'nbformat' must be 4 (found 3)", err);

        File.WriteAllText(Path.Combine(dir, "tags.ipynb"), "{ \"nbformat\": 4, \"nbformat_minor\": 5, \"metadata\": {}, \"cells\": [ { \"cell_type\": \"code\", \"source\": \"1\", \"metadata\": { \"tags\": 7 }, \"outputs\": [] } ] }");
        (code, _, err) = CliProcess.Run(["notebook", "run", Path.Combine(dir, "tags.ipynb"), "--out", Path.Combine(dir, "out")], TimeSpan.FromMinutes(1));
        Assert.Equal(1, code);
        Assert.Contains("tags.ipynb: cell 1: 'metadata.tags' must be an array of strings", err);

        // --out pointing at the notebook's own folder would overwrite it: refused, and the source is untouched
        var good = TestNotebook.Write("mine.ipynb", ("1 + 1", null));
        string before = File.ReadAllText(good);
        (code, _, err) = CliProcess.Run(["notebook", "run", good, "--out", Path.GetDirectoryName(good)!], TimeSpan.FromMinutes(1));
        Assert.Equal(1, code);
        Assert.Contains("would overwrite the notebook itself", err);
        Assert.Equal(before, File.ReadAllText(good));
    }
}

/// <summary>Runs the built CLI as a child process (for what must not happen inside the test process).</summary>
internal static class CliProcess
{
    public static (int Code, string Out, string Err) Run(IEnumerable<string> args, TimeSpan timeout, string? workingDirectory = null)
    {
        var cli = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "MovingImages.Cli.exe" : "MovingImages.Cli");
        var psi = new ProcessStartInfo(cli, args) { RedirectStandardError = true, RedirectStandardOutput = true, WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory };
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"movingimages {string.Join(' ', args)} did not finish in {timeout}");
        }
        return (p.ExitCode, output.Result, err.Result);
    }
}
