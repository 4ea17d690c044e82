using System.Diagnostics;
using System.Text.Json.Nodes;
using MovingImages.Notebooks;
using Xunit.Abstractions;

namespace MovingImages.Tests.Notebooks;

/// <summary>
/// The notebooks in the real .NET Interactive kernel (the dotnet-interactive tool from the repository's tool manifest),
/// driven by Jupyter's own client library over ZeroMQ as Jupyter and nbconvert drive it: the kernelspec our CLI installs,
/// the kernel started in notebooks/, every code cell executed, every message the kernel sends recorded.
/// </summary>
public class RealKernelTests(ITestOutputHelper output)
{
    /// <summary>A Jupyter data folder holding the kernelspec that <c>movingimages notebook kernelspec</c> writes (once per test run).</summary>
    internal static readonly Lazy<string> KernelSpecDir = new(() =>
    {
        var dir = TestData.NewTempDir("jupyter");
        var (code, stdout, stderr) = CliProcess.Run(["notebook", "kernelspec", "--path", dir], TimeSpan.FromMinutes(1), TestData.RepoRoot);
        Assert.True(code == 0, $"kernelspec install failed (did `dotnet tool restore` run?): {stdout}{stderr}");
        return dir;
    });

    static string Driver => Path.Combine(TestData.RepoRoot, "tests", "MovingImages.Tests", "Notebooks", "jupyter_driver.py");

    /// <summary>The notebook with <paramref name="parameters"/> injected, written to a temporary file.</summary>
    internal static string Prepare(string notebook, Dictionary<string, string> parameters)
    {
        var document = NotebookDocument.Load(Path.Combine(TestData.RepoRoot, "notebooks", notebook));
        NotebookRunner.InjectParameters(document, parameters, ignoreUnknown: false, notebook);
        string path = Path.Combine(TestData.NewTempDir("prepared"), notebook);
        NotebookDocument.Save(document, path);
        return path;
    }

    (JsonArray Cells, JsonNode Log) Execute(string prepared, double cellTimeout = 600, string interrupts = "{}")
    {
        string dir = TestData.NewTempDir("executed");
        string executed = Path.Combine(dir, "executed.ipynb"), log = Path.Combine(dir, "log.json");
        // SIGINT at its default for the driver and the kernel it starts (Jupyter's stop button sends SIGINT to the kernel)
        var psi = TestData.WithDefaultSigInt(new ProcessStartInfo("/usr/bin/python3", [Driver, KernelSpec.Name, prepared, Path.Combine(TestData.RepoRoot, "notebooks"), executed, log,
            cellTimeout.ToString(System.Globalization.CultureInfo.InvariantCulture), interrupts])
        { RedirectStandardOutput = true, RedirectStandardError = true });
        psi.Environment["JUPYTER_PATH"] = KernelSpecDir.Value;
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(20))) { p.Kill(true); throw new TimeoutException("the Jupyter driver did not finish"); }
        output.WriteLine($"{sw.Elapsed.TotalSeconds:0} s; driver exit {p.ExitCode}\n{stdout.Result}\n{err.Result[^Math.Min(4000, err.Result.Length)..]}");
        Assert.True(p.ExitCode == 0 && File.Exists(log), $"the driver failed (python3-jupyter-client installed?): {err.Result}");
        var logJson = JsonNode.Parse(File.ReadAllText(log))!;
        return (JsonNode.Parse(File.ReadAllText(executed))!["cells"]!.AsArray(), logJson);
    }

    static IEnumerable<JsonNode> Messages(JsonNode log, string sourceContains) =>
        log["cells"]!.AsArray().Single(c => c!["source"]!.GetValue<string>().Contains(sourceContains, StringComparison.Ordinal))!["messages"]!.AsArray()!;

    static void NoErrorsOrWarnings(JsonNode log)
    {
        foreach (var cell in log["cells"]!.AsArray())
            foreach (var m in cell!["messages"]!.AsArray())
            {
                string type = m!["type"]!.GetValue<string>();
                Assert.False(type is "error" or "timeout", $"cell {cell["index"]}: {m.ToJsonString()}");
                if (type == "stream" && m["name"]!.GetValue<string>() == "stderr")
                    Assert.DoesNotContain("warning CS", m["text"]!.GetValue<string>());
            }
    }

    /// <summary>Jupyter's in-place update: an update_display_data whose display_id an earlier display_data of the cell had.</summary>
    static string UpdatedInPlace(IEnumerable<JsonNode> messages)
    {
        var shown = messages.Where(m => m["type"]!.GetValue<string>() == "display_data").Select(m => m["display_id"]?.GetValue<string>()).Where(id => id != null).ToHashSet();
        var updates = messages.Where(m => m["type"]!.GetValue<string>() == "update_display_data").ToList();
        Assert.NotEmpty(updates);
        Assert.All(updates, u => Assert.Contains(u["display_id"]!.GetValue<string>(), shown));
        return updates[^1]["html_start"]!.GetValue<string>();
    }

    static string Html(JsonNode o) => o["data"]?["text/html"] is { } h ? (h is JsonArray a ? string.Concat(a.Select(l => l!.GetValue<string>())) : h.GetValue<string>()) : "";

    [Fact]
    public void The_installed_kernelspec_serves_http_on_loopback_only()
    {
        var spec = JsonNode.Parse(File.ReadAllText(Path.Combine(KernelSpecDir.Value, "kernels", KernelSpec.Name, "kernel.json")))!;
        var argv = spec["argv"]!.AsArray().Select(a => a!.GetValue<string>()).ToArray();
        Assert.Contains("--http-local-only", argv);
        Assert.DoesNotContain("--http-port-range", argv);
        Assert.True(File.Exists(argv[1]), $"the kernel's assembly {argv[1]} exists");

        var prepared = Path.Combine(TestData.NewTempDir("tiny-nb"), "tiny.ipynb");
        File.WriteAllText(prepared, """{"cells":[{"cell_type":"code","metadata":{},"source":"1 + 1","outputs":[],"execution_count":null}],"metadata":{},"nbformat":4,"nbformat_minor":5}""");
        var (cells, log) = Execute(prepared);
        Assert.Contains("2", Html(cells[0]!["outputs"]![0]!));
        var listening = log["listening"]!.AsArray();
        Assert.NotEmpty(listening); // ZeroMQ's channels (bound by Jupyter's connection file to 127.0.0.1) and the HTTP API
        foreach (var l in listening)
        {
            string address = l!["address"]!.GetValue<string>();
            bool loopback = address == "0100007F" || address == "00000000000000000000000001000000";
            Assert.True(loopback, $"the kernel listens on a non-loopback address: {l.ToJsonString()}");
        }
    }

    [Fact]
    public void Notebook_01_runs_in_the_real_kernel_with_images_and_a_live_view_updated_in_place()
    {
        var prepared = Prepare("01-locate-objects.ipynb", new()
        {
            ["model"] = "yolov3-tiny", ["weightsFolder"] = SyntheticModels.Folder("yolov3-tiny"),
            ["imagePath"] = TestData.Image("dog.jpg"), ["videoPath"] = TestData.Shared("data", "video", "vtest.avi"),
            ["inputSize"] = "320", ["maxFrames"] = "20", ["cameraFrames"] = "5",
        });
        var (cells, log) = Execute(prepared);
        NoErrorsOrWarnings(log);
        Assert.Equal(cells.Count(c => c!["cell_type"]!.GetValue<string>() == "code"), log["cells"]!.AsArray().Count); // every cell ran
        Assert.Contains(Messages(log, "yolo.Detect(imagePath, options);"), m => m["html_start"]?.GetValue<string>().StartsWith("<img src=\"data:image/png;base64,") == true);
        string last = UpdatedInPlace(Messages(log, "NotebookDisplay.LiveView()"));
        Assert.Contains("<img src=\"data:image/jpeg;base64,", last);
        var video = cells.Single(c => string.Concat(c!["source"]!.ToString()).Contains("NotebookDisplay.LiveView()"))!;
        Assert.Contains(video["outputs"]!.AsArray(), o => Html(o!).Contains("done, 20 frames")); // the executed notebook keeps the final frame
        // interactive charts: plotly.js put into the page by the setup cell, the chart a div drawn by it
        var setup = cells.First(c => c!["cell_type"]!.GetValue<string>() == "code")!;
        Assert.Contains(setup["outputs"]!.AsArray(), o => Html(o!).Contains("data-movingimages=\"plotly.js 4.1.2\"") && Html(o!).Length > 4_000_000);
        // and its one-line verdict on this CPU's libtorch convolutions
        Assert.Contains(setup["outputs"]!.AsArray(), o => o!.ToJsonString().Contains("convolutions: ") && o.ToJsonString().Contains("shape classes checked"));
        var chart = cells.Single(c => c!["source"]!.ToString().Contains("Charts.FrameTimes(stats)"))!;
        Assert.Contains(chart["outputs"]!.AsArray(), o => Html(o!).Contains("Plotly.newPlot('mi-plot-"));
        // what the notebook records for sweeps reaches Jupyter with its mime type
        var photo = cells.Single(c => c!["source"]!.ToString().Contains("yolo.Detect(imagePath, options);"))!;
        Assert.Contains(photo["outputs"]!.AsArray(), o => o!["data"]?["application/vnd.movingimages.record+json"] is not null);
        Assert.True(log["kernel_alive_at_end"]!.GetValue<bool>());
    }

    [Fact]
    public void Interrupting_the_video_cell_stops_it_within_a_second_and_the_kernel_keeps_its_objects()
    {
        var prepared = Prepare("01-locate-objects.ipynb", new()
        {
            ["model"] = "yolov3-tiny", ["weightsFolder"] = SyntheticModels.Folder("yolov3-tiny"),
            ["imagePath"] = TestData.Image("dog.jpg"), ["videoPath"] = TestData.Shared("data", "video", "vtest.avi"),
            ["inputSize"] = "320", ["maxFrames"] = "100000", ["cameraFrames"] = "5",
        });
        // Two cells at the end: code that does not listen to Cell.CancellationToken, then one using what earlier cells made.
        var document = NotebookDocument.Load(prepared);
        document.Elements.Add(new Microsoft.DotNet.Interactive.Documents.InteractiveDocumentElement(
            "for (int i = 0; i < 60; i++) System.Threading.Thread.Sleep(100); // deaf to interrupts", "csharp"));
        document.Elements.Add(new Microsoft.DotNet.Interactive.Documents.InteractiveDocumentElement(
            "$\"still here: {yolo.Names.Count} classes, {stats.FramesOut} frames before the interrupt\"", "csharp"));
        NotebookDocument.Save(document, prepared);

        // Jupyter's stop button: km.interrupt_kernel() (SIGINT to the kernel's process group).
        var (cells, log) = Execute(prepared, interrupts: """{"NotebookDisplay.LiveView()": [8], "deaf to interrupts": [1, 4]}""");
        Assert.True(log["kernel_alive_at_end"]!.GetValue<bool>(), "the kernel survived the interrupts");
        Assert.Equal(cells.Count(c => c!["cell_type"]!.GetValue<string>() == "code"), log["cells"]!.AsArray().Count); // every cell ran

        var videoCell = log["cells"]!.AsArray().Single(c => c!["source"]!.GetValue<string>().Contains("NotebookDisplay.LiveView()"))!;
        double stoppedIn = videoCell["idle_after_interrupt_s"]!.GetValue<double>();
        output.WriteLine($"video cell: interrupted at {videoCell["interrupted_at_s"]} s, idle {stoppedIn:0.000} s later");
        Assert.True(stoppedIn < 1.5, $"the video cell took {stoppedIn:0.000} s to stop after the interrupt");
        Assert.DoesNotContain(videoCell["messages"]!.AsArray(), m => m!["type"]!.GetValue<string>() == "error"); // stopped cleanly, not failed
        var video = cells.Single(c => c!["source"]!.ToString().Contains("NotebookDisplay.LiveView()"))!;
        Assert.Contains(video["outputs"]!.AsArray(), o => Html(o!).Contains("<img src=\"data:image/jpeg;base64,") && Html(o!).Contains("stopped, ")); // the last frame stays
        Assert.Contains(video["outputs"]!.AsArray(), o => Html(o!).Contains("fps (stopped)"));                                               // the run's statistics

        var deaf = log["cells"]!.AsArray().Single(c => c!["source"]!.GetValue<string>().Contains("deaf to interrupts"))!["messages"]!.AsArray();
        Assert.Contains(deaf, m => m!["type"]!.GetValue<string>() == "stream" && m["text"]!.GetValue<string>().Contains("does not stop on Cell.CancellationToken"));
        Assert.Contains(deaf, m => m!["type"]!.GetValue<string>() == "error");                                                       // the second interrupt cancelled it
        var last = cells.Last(c => c!["cell_type"]!.GetValue<string>() == "code")!;
        Assert.True(last["outputs"]!.AsArray().Any(o => o!.ToJsonString().Contains("still here: 80 classes")), last.ToJsonString());
        foreach (var cell in log["cells"]!.AsArray().Where(c => !c!["source"]!.GetValue<string>().Contains("deaf to interrupts")))
            Assert.DoesNotContain(cell!["messages"]!.AsArray(), m => m!["type"]!.GetValue<string>() == "error");
    }

    [Fact]
    public void Notebook_02_runs_in_the_real_kernel_and_training_progress_reaches_100_percent_in_place()
    {
        var prepared = Prepare("02-fake-video.ipynb", new()
        {
            ["faceModels"] = MovingImages.Tests.FaceAnalysis.FaceModels.Directory, ["sceneVideo"] = TestData.Shared("data", "video", "Megamind.avi"),
            ["previewFrames"] = "3", ["imageSize"] = "32", ["filters"] = "16", ["encoderDim"] = "64", ["iterations"] = "20", ["batchSize"] = "8",
            ["learningRate"] = "1e-3", ["everyNthFrame"] = "10", ["convertSeconds"] = "2.0", ["previewEvery"] = "10", ["precision"] = "fp32",
            ["workDir"] = TestData.NewTempDir("faceit-real-kernel"),
        });
        var (cells, log) = Execute(prepared);
        NoErrorsOrWarnings(log);
        Assert.Equal(cells.Count(c => c!["cell_type"]!.GetValue<string>() == "code"), log["cells"]!.AsArray().Count);
        var training = Messages(log, "faceit.Train(").ToList();
        UpdatedInPlace(training);
        var train = cells.Single(c => c!["source"]!.ToString().Contains("faceit.Train("))!;
        Assert.Contains(train["outputs"]!.AsArray(), o => Html(o!).Contains("<progress value=\"20\" max=\"20\""));      // 100 %
        Assert.Contains(train["outputs"]!.AsArray(), o => Html(o!).Contains("<img src=\"data:image/png;base64,"));       // the preview grid, replaced in place
        var convert = cells.Single(c => c!["source"]!.ToString().Contains("faceit.Convert("))!;
        Assert.Contains(convert["outputs"]!.AsArray(), o => o!["data"]?["image/png"] != null);                             // before | after
    }
}
