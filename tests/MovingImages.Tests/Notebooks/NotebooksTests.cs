using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace MovingImages.Tests.Notebooks;

/// <summary>Every notebook under notebooks/ runs through the runner with small parameters, and opens in Polyglot Notebooks.</summary>
public partial class NotebooksTests(ITestOutputHelper output)
{
    static string NotebooksDir => Path.Combine(TestData.RepoRoot, "notebooks");

    [Fact]
    public void Notebooks_carry_the_metadata_polyglot_expects()
    {
        var files = Directory.GetFiles(NotebooksDir, "*.ipynb");
        Assert.Equal(["01-locate-objects.ipynb", "02-fake-video.ipynb"], files.Select(Path.GetFileName).Order());
        foreach (var file in files)
        {
            var json = JsonNode.Parse(File.ReadAllText(file))!;
            Assert.Equal(4, json["nbformat"]!.GetValue<int>());
            Assert.Equal(".net-csharp", json["metadata"]!["kernelspec"]!["name"]!.GetValue<string>());
            Assert.Equal("csharp", json["metadata"]!["polyglot_notebook"]!["kernelInfo"]!["defaultKernelName"]!.GetValue<string>());
            var cells = json["cells"]!.AsArray();
            Assert.All(cells.Where(c => c!["cell_type"]!.GetValue<string>() == "code"), c =>
            {
                Assert.Equal("csharp", c!["metadata"]!["dotnet_interactive"]!["language"]!.GetValue<string>());
                Assert.Equal("csharp", c["metadata"]!["polyglot_notebook"]!["kernelName"]!.GetValue<string>());
                Assert.Empty(c["outputs"]!.AsArray()); // committed without outputs
            });
            Assert.Single(cells, c => c!["metadata"]?["tags"]?.AsArray().Any(t => t!.GetValue<string>() == "parameters") == true);
        }
    }

    [Fact]
    public void Every_notebook_executes_with_small_parameters()
    {
        // notebook 01 finds no weights file in its folder: it runs on synthetic weights it makes, and says so first
        string weightsFolder = SyntheticModels.Folder("yolov3-tiny", withWeights: false);
        var outDir = TestData.NewTempDir("notebooks-out");
        var sw = Stopwatch.StartNew();
        var (code, stdout, stderr) = CliProcess.Run(["notebook", "run", NotebooksDir, "--out", outDir, "--timeout", "600",
            "-p", "model=yolov3-tiny", "-p", $"weightsFolder={weightsFolder}",
            "-p", $"imagePath={TestData.Image("dog.jpg")}", "-p", $"videoPath={TestData.Shared("data", "video", "vtest.avi")}",
            "-p", $"faceModels={MovingImages.Tests.FaceAnalysis.FaceModels.Directory}", "-p", $"sceneVideo={TestData.Shared("data", "video", "Megamind.avi")}",
            "-p", "inputSize=320", "-p", "maxFrames=12", "-p", "cameraFrames=5", "-p", "previewFrames=3",
            "-p", "preset=classroom", "-p", "imageSize=32", "-p", "filters=16", "-p", "encoderDim=64", "-p", "iterations=30", "-p", "batchSize=8", "-p", "learningRate=1e-3",
            "-p", "everyNthFrame=10", "-p", "convertSeconds=1.0", /* under the 45 frames the before/after picture once needed */ "-p", "previewEvery=10", "-p", "precision=bf16", "-p", $"workDir={TestData.NewTempDir("faceit-notebook")}"], TimeSpan.FromMinutes(15));
        output.WriteLine($"{sw.Elapsed.TotalSeconds:0} s\n{stdout}\n{stderr}");
        Assert.True(code == 0, stdout + stderr);

        // 01: no errors; the image step shows the annotated photo, the video step a live frame, charts are PNG
        var locate = Executed(outDir, "01-locate-objects.ipynb");
        Assert.DoesNotContain(locate.SelectMany(c => c.Outputs), o => o["output_type"]!.GetValue<string>() == "error");
        // the setup cell says what this CPU's libtorch convolutions are worth, in one line
        Assert.Contains(locate[0].Outputs, o => (Lines(o["data"]?["text/plain"]) + Html(o)).Contains("convolutions: libtorch computes", StringComparison.Ordinal));
        var firstOutput = locate.Skip(1).SelectMany(c => c.Outputs).First(o => !IsPlotlyLoader(o)); // the first a reader sees after the setup
        Assert.Contains("yolov3-tiny: SYNTHETIC weights", Lines(firstOutput["data"]?["text/plain"]) + Html(firstOutput));
        Assert.Contains("movingimages fetch tiny", Lines(firstOutput["data"]?["text/plain"]) + Html(firstOutput));
        Assert.True(File.Exists(Path.Combine(weightsFolder, "synthetic", "yolov3-tiny.synthetic-seed7-6photos.weights")));
        Assert.False(File.Exists(Path.Combine(weightsFolder, "yolov3-tiny.weights"))); // nothing written under the real file's name
        Assert.Contains(Cell(locate, "yolo.Detect(imagePath, options);").Outputs, o => Html(o).Contains("<img src=\"data:image/png;base64,"));
        Assert.Contains(Cell(locate, "NotebookDisplay.LiveView()").Outputs, o => Html(o).Contains("<img src=\"data:image/jpeg;base64,"));
        // interactive charts: plotly.js embedded once, by the setup cell; each chart a div drawn by it; no CDN anywhere
        Assert.Single(locate.SelectMany(c => c.Outputs), IsPlotlyLoader);
        Assert.Contains(locate[0].Outputs, IsPlotlyLoader);
        Assert.True(Html(locate[0].Outputs.Single(IsPlotlyLoader)).Length > 4_000_000, "the loader carries plotly.min.js itself");
        foreach (var chartCell in new[] { "Charts.FrameTimes(stats)", "Input size: objects found and time", "Objects found by score threshold" })
            Assert.Contains(Cell(locate, chartCell).Outputs, o => Html(o).Contains("Plotly.newPlot('mi-plot-"));
        Assert.DoesNotContain(locate.Concat(Executed(outDir, "02-fake-video.ipynb")).SelectMany(c => c.Outputs),
            o => System.Text.RegularExpressions.Regex.IsMatch(Html(o), "<script[^>]*src=|cdn\\.plot\\.ly/plotly|require\\(\\['plotly"));
        Assert.Contains(Cell(locate, "byConfidence").Outputs, o => o["data"]?["image/png"] != null);
        Assert.Contains(locate, c => c.Tags.Contains("injected-parameters"));
        // 02: the footage step shows frames
        var fake = Executed(outDir, "02-fake-video.ipynb");
        Assert.DoesNotContain(fake.SelectMany(c => c.Outputs), o => o["output_type"]!.GetValue<string>() == "error");
        Assert.Contains(fake.SelectMany(c => c.Outputs), o => o["data"]?["image/png"] != null);
        Assert.Contains(Cell(fake, "FaceAligner.Align").Outputs, o => o["data"]?["image/png"] != null);
        Assert.Contains(Cell(fake, "filter.Matches").Outputs, o => o["data"]?["image/png"] != null);
        Assert.Contains(Cell(fake, "model.Summary()").Outputs, o => o["output_type"]!.GetValue<string>() == "stream" && Lines(o["text"]).Contains("model total"));
        var training = Cell(fake, "faceit.Preview(3)").Outputs;
        Assert.Contains(training, o => o["data"]?["image/png"] != null);                                    // preview grid
        Assert.Contains(training, o => Html(o).Contains("Plotly.newPlot('mi-plot-") && Html(o).Contains("loss B (B → B)")); // the loss chart, interactive
        Assert.Contains(training, o => Html(o).Contains("<progress value=\"30\" max=\"30\""));             // the bar, updated in place to the end
        Assert.Contains(training, o => Html(o).Contains("<img src=\"data:image/png;base64,"));           // the preview grid, replaced in place during training
        Assert.Contains(Cell(fake, "FaceSwapPreset.Named").Outputs, o => Html(o).Contains("<td>classroom (changed)</td><td>32</td><td>16</td><td>64</td><td>30</td>")); // the knobs, overridden
        Assert.Contains(Cell(fake, "IdentityProbe(").Outputs, o => Html(o).Contains("<th>distanceToHim</th>"));   // the identity table, as a table
        Assert.Contains(Cell(fake, "faceit.Preprocess(").Outputs, o => Html(o).Contains("<th>Person</th><th>Frames</th><th>Faces</th><th>Rejected</th>"));
        Assert.Contains(Cell(fake, "IdentityProbe(").Outputs, o => Verdict().IsMatch(Lines(o["data"]?["text/plain"]) + Html(o))); // and its verdict
        Assert.Contains(Cell(fake, "faceit.Convert(").Outputs, o => o["data"]?["image/png"] != null);      // before | after

        // The executed files are valid nbformat 4 (Debian's python3-nbformat, installed by .ci/run).
        foreach (var file in Directory.GetFiles(outDir, "*.ipynb"))
        {
            var psi = new ProcessStartInfo("/usr/bin/python3", ["-c", "import nbformat,sys; nbformat.validate(nbformat.read(sys.argv[1], as_version=4)); print('valid')", file])
            { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            string o = p.StandardOutput.ReadToEnd(), e = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0 && o.Trim() == "valid", $"{file} is not valid nbformat (is python3-nbformat installed?): {e}");
        }
    }

    sealed record ExecutedCell(string Source, IReadOnlyList<string> Tags, IReadOnlyList<JsonObject> Outputs);

    static List<ExecutedCell> Executed(string dir, string name)
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, name)))!;
        return json["cells"]!.AsArray().Where(c => c!["cell_type"]!.GetValue<string>() == "code").Select(c => new ExecutedCell(
            string.Concat(c!["source"]!.AsArray().Select(l => l!.GetValue<string>())),
            c["metadata"]?["tags"]?.AsArray().Select(t => t!.GetValue<string>()).ToArray() ?? [],
            c["outputs"]!.AsArray().Select(o => o!.AsObject()).ToArray())).ToList();
    }

    static ExecutedCell Cell(List<ExecutedCell> cells, string containing) => cells.Single(c => c.Source.Contains(containing, StringComparison.Ordinal));

    [System.Text.RegularExpressions.GeneratedRegex(@"(^|>)(ok: training moved|NOT BETTER: the trained model)")]
    private static partial System.Text.RegularExpressions.Regex Verdict();

    static bool IsPlotlyLoader(JsonObject output) => Html(output).Contains("data-movingimages=\"plotly.js ");

    static string Html(JsonObject output) => Lines(output["data"]?["text/html"]);
    static string Lines(JsonNode? n) => n switch { null => "", JsonArray a => string.Concat(a.Select(l => l!.GetValue<string>())), _ => n.GetValue<string>() };
}
