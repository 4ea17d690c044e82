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

    public static string Text(CellOutput o) => o switch
    {
        StreamOutput s => s.Text,
        DisplayOutput d => d.Data.GetValueOrDefault("text/plain") ?? "",
        ErrorOutput e => e.Value,
        _ => "",
    };
}

public class NotebookRunnerTests
{
    static readonly NotebookRunOptions InPlace = new(SetWorkingDirectory: false);

    static CellOutput[] Outputs(NotebookRunResult r, int cell) =>
        r.Notebook.Cells[cell - 1].Json["outputs"]!.AsArray().Select(o => Parse(o!.AsObject())).ToArray();

    static CellOutput Parse(JsonObject o) => o["output_type"]!.GetValue<string>() switch
    {
        "stream" => new StreamOutput(o["name"]!.GetValue<string>(), o["text"]!.GetValue<string>()),
        "error" => new ErrorOutput(o["ename"]!.GetValue<string>(), o["evalue"]!.GetValue<string>(), o["traceback"]!.AsArray().Select(t => t!.GetValue<string>()).ToArray()),
        _ => new DisplayOutput(o["data"]!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>())),
    };

    [Fact]
    public async Task State_carries_from_cell_to_cell_and_output_is_captured()
    {
        var path = TestNotebook.Write("state.ipynb",
            ("# title", "markdown"),
            ("var x = 20;\nConsole.WriteLine(\"hello\");\nConsole.Error.WriteLine(\"careful\");", null),
            ("int Twice(int v) => 2 * v;", null),
            ("Twice(x) + 2", null));
        var r = await NotebookRunner.RunAsync(path, InPlace);
        Assert.True(r.Succeeded, r.Summary);
        Assert.Equal("hello\n", Assert.IsType<StreamOutput>(Outputs(r, 2)[0]).Text);
        Assert.Equal(("stderr", "careful\n"), (((StreamOutput)Outputs(r, 2)[1]).Name, ((StreamOutput)Outputs(r, 2)[1]).Text));
        Assert.Equal("42", TestNotebook.Text(Assert.Single(Outputs(r, 4))));
        Assert.Equal("execute_result", r.Notebook.Cells[3].Json["outputs"]![0]!["output_type"]!.GetValue<string>());
        Assert.Equal(3, r.Notebook.Cells[3].Json["execution_count"]!.GetValue<int>());
        Assert.Null(r.Notebook.Cells[0].Json["outputs"]); // markdown untouched
    }

    [Fact]
    public async Task Parameters_given_with_p_win_over_the_parameters_cell()
    {
        var path = TestNotebook.Write("params.ipynb",
            ("var n = 1;\nvar name = \"a\";\nvar rate = 0.5f;\nvar precise = 1e-3;\nvar on = false;\nint? limit = 5;", "parameters"),
            ("$\"{n}|{name}|{rate}|{precise}|{on}|{limit}\"", null));
        var values = new Dictionary<string, string> { ["n"] = "7", ["name"] = "he said \"hi\"", ["rate"] = "0.25", ["precise"] = "5e-05", ["on"] = "true", ["limit"] = "null" };
        var r = await NotebookRunner.RunAsync(path, InPlace with { Parameters = values });
        Assert.True(r.Succeeded, r.Summary);
        Assert.Equal(3, r.Notebook.Cells.Count);
        Assert.Contains("injected-parameters", r.Notebook.Cells[1].Tags);
        Assert.Equal("7|he said \"hi\"|0.25|5E-05|True|", TestNotebook.Text(Outputs(r, 3).Single()));

        var bad = await NotebookRunner.RunAsync(path, InPlace with { Parameters = new Dictionary<string, string> { ["nope"] = "1" } });
        Assert.False(bad.Succeeded);
        Assert.Contains("declares no 'nope'", bad.Summary);
        var badValue = await NotebookRunner.RunAsync(path, InPlace with { Parameters = new Dictionary<string, string> { ["n"] = "seven" } });
        Assert.Contains("-p n=seven: not a valid Int32", badValue.Summary);
    }

    [Fact]
    public async Task An_exception_in_cell_3_stops_the_run_and_names_cell_3()
    {
        var path = TestNotebook.Write("boom.ipynb",
            ("var a = 1;", null),
            ("var b = 2;", null),
            ("var c = a + b;\nthrow new InvalidOperationException(\"boom\");", null),
            ("Console.WriteLine(\"never\");", null));
        var r = await NotebookRunner.RunAsync(path, InPlace);
        Assert.False(r.Succeeded);
        Assert.Equal(3, r.FailedCell);
        var error = Assert.IsType<ErrorOutput>(Outputs(r, 3).Single());
        Assert.Equal("InvalidOperationException", error.Name);
        Assert.Equal("cell 3: boom", error.Value);
        Assert.Contains(error.Traceback, t => t.Contains("cell 3, line 2"));
        Assert.Contains("cell 3 failed", r.Summary);
        Assert.Empty(Outputs(r, 4));
        Assert.Null(r.Notebook.Cells[3].Json["execution_count"]);
    }

    [Fact]
    public async Task Compilation_errors_name_cell_and_line()
    {
        var path = TestNotebook.Write("typo.ipynb", ("var ok = 1;", null), ("var x = 1;\nvar y = undefinedThing + 1;", null));
        var r = await NotebookRunner.RunAsync(path, InPlace);
        var error = Assert.IsType<ErrorOutput>(Outputs(r, 2).Single());
        Assert.Equal("CompilationError", error.Name);
        Assert.StartsWith("cell 2, line 2: error CS0103: The name 'undefinedThing' does not exist", error.Value);
    }

    [Fact]
    public async Task Nuget_references_are_satisfied_from_what_the_runner_ships_or_fail_clearly()
    {
        var ok = TestNotebook.Write("nuget.ipynb", ("#r \"nuget: ScottPlot, 5.1.59\"\n#r \"nuget: TorchSharp-cpu\"\nnew ScottPlot.Plot().GetType().Name", null));
        var r = await NotebookRunner.RunAsync(ok, InPlace);
        Assert.True(r.Succeeded, r.Summary);
        Assert.Equal("Plot", TestNotebook.Text(Outputs(r, 1).Single()));
        var missing = TestNotebook.Write("nuget2.ipynb", ("#r \"nuget: Newtonsoft.Json, 13.0.3\"", null));
        var m = await NotebookRunner.RunAsync(missing, InPlace);
        Assert.False(m.Succeeded);
        Assert.Contains("package 'Newtonsoft.Json' is not available", m.Summary);
        Assert.Contains("cell 1, line 1", m.Summary);
    }

    [Fact]
    public async Task Load_references_magics_and_display_handles()
    {
        var path = TestNotebook.Write("misc.ipynb",
            ("#!csharp\n#r \"../lib/MovingImages.Cli/bin/Debug/net10.0/MovingImages.dll\"\n#load \"helper.csx\"\nHelper(4)", null),
            ("#!markdown\nThis is **markdown** in a code cell.", null),
            ("var h = display(\"first\");\nh.Update(\"second\");\ndisplay(new OpenCvSharp.Mat(4, 6, OpenCvSharp.MatType.CV_8UC3));", null),
            ("#!fsharp\nlet x = 1", null));
        File.WriteAllText(Path.Combine(Path.GetDirectoryName(path)!, "helper.csx"), "int Helper(int v) => v * 10;\n");
        var r = await NotebookRunner.RunAsync(path, InPlace);
        Assert.Equal("40", TestNotebook.Text(Outputs(r, 1).Single()));
        Assert.Empty(Outputs(r, 2));
        var displays = Outputs(r, 3).Cast<DisplayOutput>().ToArray();
        Assert.Equal("second", displays[0].Data["text/plain"]); // updated in place
        Assert.True(displays[1].Data.ContainsKey("image/png"));
        var png = Convert.FromBase64String(displays[1].Data["image/png"]);
        Assert.Equal((byte)'P', png[1]);
        Assert.False(r.Succeeded);
        Assert.Equal(4, r.FailedCell);
        Assert.Contains("'#!fsharp' is not supported", r.Summary);
    }

    [Fact]
    public void A_hung_cell_is_stopped_by_the_timeout_and_the_command_fails()
    {
        var path = TestNotebook.Write("hang.ipynb", ("var started = true;", null), ("while (true) { }", null), ("Console.WriteLine(\"never\");", null));
        var outDir = TestData.NewTempDir("hang-out");
        var sw = Stopwatch.StartNew();
        var (code, stdout, stderr) = CliProcess.Run(["notebook", "run", path, "--timeout", "10", "--out", outDir], TimeSpan.FromMinutes(2)); // 10 s: the first cell also warms up Roslyn, seconds on a loaded machine
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"took {sw.Elapsed}");
        Assert.NotEqual(0, code);
        Assert.Contains("hang.ipynb: cell 2 failed: cell 2 timed out after 10 s", stdout + stderr);
        var saved = NotebookFile.Load(Path.Combine(outDir, "hang.ipynb"));
        Assert.Equal("error", saved.Cells[1].Json["outputs"]![0]!["output_type"]!.GetValue<string>());
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
