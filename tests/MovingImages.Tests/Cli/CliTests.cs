using System.Diagnostics;
using System.Text.Json;
using MovingImages.Cli;
using MovingImages.IO;

namespace MovingImages.Tests.Cli;

public class CliTests
{
    /// <summary>Runs the CLI in this process; returns the exit code, stdout and stderr.</summary>
    internal static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await CliApp.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Locate_json_prints_one_valid_object_per_detection()
    {
        var (_, _, weights) = SyntheticModels.Get("yolov3-tiny.cfg");
        var dir = TestData.NewTempDir("cli-locate");
        string annotated = Path.Combine(dir, "dog.jpg"), dump = Path.Combine(dir, "dump");
        var (code, stdout, stderr) = await Run("locate", TestData.Image("dog.jpg"), "--cfg", TestData.Cfg("yolov3-tiny.cfg"),
            "--weights", weights, "--names", TestData.CocoNames, "--json", "--out", annotated, "--dump", dump);
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            var o = doc.RootElement;
            Assert.Equal(["label", "class", "score", "x", "y", "w", "h"], o.EnumerateObject().Select(p => p.Name));
            Assert.Equal(JsonValueKind.String, o.GetProperty("label").ValueKind);
            Assert.InRange(o.GetProperty("class").GetInt32(), 0, 79);
            Assert.InRange(o.GetProperty("score").GetDouble(), 0.5, 1);
            double x = o.GetProperty("x").GetDouble(), y = o.GetProperty("y").GetDouble();
            Assert.InRange(x, 0, 768);
            Assert.InRange(y, 0, 576);
            Assert.InRange(x + o.GetProperty("w").GetDouble(), x, 768.05);
            Assert.InRange(y + o.GetProperty("h").GetDouble(), y, 576.05);
        }
        Assert.True(File.Exists(annotated));
        Assert.Contains("wrote", stderr);
        // the dump: exact network input and raw heads
        var (input, shape) = Npy.Read(Path.Combine(dump, "input.npy"));
        Assert.Equal([1L, 3, 416, 416], shape);
        Assert.Equal(0.5f, input[0]); // top-left is letterbox padding
        Assert.Equal([1L, 255, 13, 13], Npy.Read(Path.Combine(dump, "head0.npy")).Shape);
        Assert.Equal([1L, 255, 26, 26], Npy.Read(Path.Combine(dump, "head1.npy")).Shape);
    }

    [Fact]
    public async Task Dumped_npy_files_load_in_numpy()
    {
        var (_, _, weights) = SyntheticModels.Get("yolov3-tiny.cfg");
        var dump = TestData.NewTempDir("cli-dump");
        var (code, _, stderr) = await Run("locate", TestData.Image("horses.jpg"), "--cfg", TestData.Cfg("yolov3-tiny.cfg"),
            "--weights", weights, "--out", Path.Combine(dump, "a.png"), "--dump", dump);
        Assert.True(code == 0, stderr);
        // An independent reader: NumPy (Debian's python3-numpy, installed by .ci/run).
        var psi = new ProcessStartInfo("/usr/bin/python3", ["-c",
            "import numpy as n,sys; a=n.load(sys.argv[1]); h=n.load(sys.argv[2]); print(a.dtype, a.shape, h.shape, round(float(a[0,0,0,0]),3))",
            Path.Combine(dump, "input.npy"), Path.Combine(dump, "head1.npy")]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd(), error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"numpy could not read the dump (is python3-numpy installed?): {error}");
        Assert.Equal("float32 (1, 3, 416, 416) (1, 255, 26, 26) 0.5", output.Trim());
    }

    [Fact]
    public async Task Missing_weights_say_how_to_get_them()
    {
        var (code, _, stderr) = await Run("locate", TestData.Image("dog.jpg"), "--cfg", TestData.Cfg("yolov3.cfg"), "--weights", "/nonexistent/yolov3.weights");
        Assert.Equal(1, code);
        Assert.Contains("error: Darknet weights not found: /nonexistent/yolov3.weights", stderr);
        Assert.Contains("movingimages fetch yolov3", stderr);
        var (c2, _, e2) = await Run("locate", TestData.Image("dog.jpg"), "--cfg", TestData.Cfg("yolov3.cfg"),
            "--weights", SyntheticModels.Get("yolov3-tiny.cfg").Path);
        Assert.Equal(1, c2);
        Assert.Contains("bytes short", e2);
        var (c3, _, e3) = await Run("locate", TestData.Image("dog.jpg"), "--size", "400");
        Assert.Equal(1, c3);
        Assert.Contains("error:", e3);
    }

    [Fact]
    public async Task Weights_info_checks_a_file_against_its_config()
    {
        var (_, _, weights) = SyntheticModels.Get("yolov3-tiny.cfg");
        var (code, stdout, stderr) = await Run("weights", "info", weights, "--cfg", TestData.Cfg("yolov3-tiny.cfg"));
        Assert.True(code == 0, stderr);
        Assert.Contains("13 convolutional layers, 8,858,734 parameters", stdout);
    }

    [Fact]
    public async Task Bench_locate_prints_both_implementations_and_their_ratio()
    {
        var (_, _, weights) = SyntheticModels.Get("yolov3-tiny.cfg");
        var (code, stdout, stderr) = await Run("bench", "locate", "--cfg", TestData.Cfg("yolov3-tiny.cfg"), "--weights", weights,
            "--image", TestData.Image("dog.jpg"), "--runs", "1", "--warmup", "0", "--threads", "2");
        Assert.True(code == 0, stderr);
        Assert.Matches(@"locate: ours \d+\.\d ms, ours bf16 \d+\.\d ms, OpenCV DNN \d+\.\d ms; ratio OpenCV/ours \d+\.\d\dx, bf16/OpenCV \d+\.\d\dx; bf16 agreement \d+/\d+ fp32 boxes", stdout);
        Assert.Contains("OpenCV DNN", stderr);
    }

    [Fact]
    public async Task Demo_runs_what_it_can_on_synthetic_weights_said_so_and_reports_what_it_could_not_fetch()
    {
        var root = TestData.NewTempDir("demo");
        var (code, stdout, stderr) = await Run("demo", "--root", root, "--from", TestData.Shared(), "--offline", "--model", "yolov3-tiny");
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("locate objects (photos): ok [SYNTHETIC (boxes meaningless)] — 6 annotated images in out/", stdout);
        Assert.Contains("locate objects in video (+ SORT tracking): ok [SYNTHETIC (boxes meaningless)] — 200 frames", stdout);
        Assert.Contains("yolov3-tiny: SYNTHETIC weights", stderr);                       // said while it runs, with how to get the real file
        Assert.Contains("movingimages fetch tiny", stderr);
        Assert.Contains("── part 1/3: locate objects", stderr);                         // progress, part by part
        Assert.Contains("[6/6] messi5.jpg", stderr);
        Assert.True(File.Exists(Path.Combine(root, "out", "dog.annotated.jpg")));
        Assert.True(File.Exists(Path.Combine(root, "weights", "yolov3-tiny.cfg")));
        Assert.False(File.Exists(Path.Combine(root, "weights", "yolov3-tiny.weights"))); // nothing pretends to be the real file
        Assert.Contains("faces (face-api networks): SKIPPED", stdout); // the npm tarball is not in the mirror and --offline forbids the network
        Assert.Contains("fake video (faceswap on Megamind.avi): SKIPPED — inputs could not be fetched: face-api-1.7.15.tgz", stdout);
        Assert.DoesNotContain("FAILED", stdout);
    }

    [Fact]
    public async Task A_demo_part_that_fails_is_reported_failed_the_others_still_run_and_the_exit_code_is_1()
    {
        var root = TestData.NewTempDir("demo-fail");
        Directory.CreateDirectory(Path.Combine(root, "weights"));
        File.WriteAllBytes(Path.Combine(root, "weights", "yolov3-tiny.weights"), new byte[1000]); // a cut download, under the real name
        var (code, stdout, stderr) = await Run("demo", "--root", root, "--from", TestData.Shared(), "--offline", "--model", "yolov3-tiny");
        Assert.Equal(1, code);
        Assert.Matches(@"yolov3-tiny\.weights +FAILED +.*exists but is not the published file", stderr); // fetch leaves the user's file alone, says so
        Assert.Contains("locate objects (YOLOv3 on photos and a video): FAILED — ", stdout);
        Assert.Contains("yolov3-tiny.weights", stdout[stdout.IndexOf("FAILED —", StringComparison.Ordinal)..]);  // which file, in the summary
        Assert.Contains("faces (face-api networks): SKIPPED", stdout);                                         // the next parts still ran
        Assert.Equal(1000, new FileInfo(Path.Combine(root, "weights", "yolov3-tiny.weights")).Length);
    }
}

public class CliVideoTests
{
    [Fact]
    public async Task Locate_on_a_video_writes_video_json_and_stats_and_reports_cancellation()
    {
        var (_, _, weights) = SyntheticModels.Get("yolov3-tiny.cfg");
        var dir = TestData.NewTempDir("cli-video");
        string video = Path.Combine(dir, "m.mp4"), json = Path.Combine(dir, "m.jsonl"), stats = Path.Combine(dir, "s.json");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(4)); // as if Ctrl+C were pressed mid-file
        int code = await CliApp.RunAsync(["locate", TestData.Shared("data", "video", "Megamind.avi"), "--cfg", TestData.Cfg("yolov3-tiny.cfg"),
            "--weights", weights, "--size", "320", "--out", video, "--json", json, "--stats", stats], stdout, stderr, cts.Token);
        string err = stderr.ToString();
        Assert.True(code == 130, err);                                  // stopped by the user, outputs finished
        Assert.Contains("video file Megamind.avi: 720×528 at 23.98 fps, 270 frames", err);
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(stats));
        int frames = doc.RootElement.GetProperty("frames_out").GetInt32();
        Assert.InRange(frames, 1, 269);
        Assert.False(doc.RootElement.GetProperty("complete").GetBoolean());
        Assert.Contains($"cancelled after {frames} frames; {video} holds them and is playable.", err);
        var streams = MovingImages.Media.Ffmpeg.Probe(video);
        Assert.Equal(frames, Assert.Single(streams, s => s.Type == "video").Frames);
        Assert.Single(streams, s => s.Type == "audio");
        Assert.All(File.ReadAllLines(json), l => Assert.StartsWith("{\"frame\":", l));
        Assert.Equal("", stdout.ToString()); // JSON went to the file
    }
}
