using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace MovingImages.Tests.Cli;

/// <summary>Every <c>bench</c> command writes its figures with <c>--json FILE</c>, under the keys README documents.</summary>
public class BenchJsonTests(ITestOutputHelper output)
{
    static JsonNode Read(string path) => JsonNode.Parse(File.ReadAllText(path))!;

    [Fact]
    public async Task Bench_locate_writes_fp32_bf16_opencv_agreement_and_a_layer_profile()
    {
        string json = Path.Combine(TestData.NewTempDir("bench-json"), "locate.json");
        var (code, stdout, stderr) = await CliTests.Run("bench", "locate", "--cfg", TestData.Cfg("yolov3-tiny.cfg"), "--weights", "absent.weights",
            "--image", TestData.Image("dog.jpg"), "--runs", "1", "--warmup", "0", "--profile", "--json", json);
        output.WriteLine(stdout + stderr);
        Assert.True(code == 0, stderr);
        var j = Read(json);
        foreach (var key in new[] { "ours_ms", "ours_bf16_ms", "opencv_ms", "detect_ms", "letterbox_ms", "decode_nms_ms" })
            Assert.True(j[key]!.GetValue<double>() > 0, key);
        double agreement = j["bf16_agreement"]!.GetValue<double>();
        Assert.InRange(agreement, 0, 1);
        Assert.True(Math.Abs(j["bf16_boxes_matched"]!.GetValue<int>() / (double)Math.Max(1, j["fp32_boxes"]!.GetValue<int>()) - agreement) < 1e-3);
        Assert.Equal(24, j["layers"]!.AsArray().Count);                              // yolov3-tiny's 24 layers, each timed
        Assert.Contains("conv 3×3/1", j["layers"]!.AsArray().Select(l => l!["kind"]!.GetValue<string>()));
        Assert.Equal(Environment.ProcessorCount, j["machine"]!["cores"]!.GetValue<int>());
        Assert.Contains("synthetic", j["weights"]!.GetValue<string>());
    }

    [Fact]
    public async Task Bench_fakevideo_writes_ours_and_the_pytorch_peer_and_survives_a_failing_peer()
    {
        string dir = TestData.NewTempDir("bench-json");
        string json = Path.Combine(dir, "fake.json");
        string[] args = ["bench", "fakevideo", "--steps", "1", "--batches", "2", "--size", "32", "--encoder-dim", "16", "--filters", "8",
            "--precision", "fp32", "bf16", "--video", "absent.avi", "--peer", "--json", json];
        var (code, stdout, stderr) = await CliTests.Run(args);
        output.WriteLine(stdout + stderr);
        Assert.True(code == 0, stderr);
        var rows = Read(json)["training"]!.AsArray();
        Assert.Equal(["fp32", "bf16"], rows.Select(r => r!["precision"]!.GetValue<string>()));
        foreach (var r in rows)
        {
            Assert.True(r!["samples_per_s"]!.GetValue<double>() > 0);
            Assert.True(r["peer_samples_per_s"]!.GetValue<double>() > 0, "Debian's python3-torch runs the peer (.ci/run installs it)");
            Assert.Equal(r["samples_per_s"]!.GetValue<double>() / r["peer_samples_per_s"]!.GetValue<double>(), r["ratio_to_peer"]!.GetValue<double>(), 1);
        }
        Assert.Contains("PyTorch", stdout);

        // the peer with PyTorch's own speed-ups (multi-tensor Adam, channels-last): it runs them, and the figures say so
        (code, stdout, stderr) = await CliTests.Run([.. args.Where(a => a != "--peer"), "--peer-tuned"]);
        Assert.True(code == 0, stderr);
        Assert.Contains("tuned: foreach Adam, channels-last", stderr);
        var tuned = Read(json);
        Assert.True(tuned["peer_tuned"]!.GetValue<bool>());
        Assert.All(tuned["training"]!.AsArray(), r => Assert.True(r!["peer_samples_per_s"]!.GetValue<double>() > 0, "the tuned peer did not run"));

        // a peer that cannot run: the bench says why and still measures ours
        Environment.SetEnvironmentVariable("MOVINGIMAGES_PEER_PYTHON", "/bin/false");
        try
        {
            (code, stdout, stderr) = await CliTests.Run(args);
        }
        finally
        {
            Environment.SetEnvironmentVariable("MOVINGIMAGES_PEER_PYTHON", null);
        }
        Assert.Equal(0, code);
        Assert.Contains("PyTorch peer failed", stderr);
        Assert.Contains("ours is measured alone", stderr);
        var alone = Read(json)["training"]!.AsArray();
        Assert.All(alone, r => Assert.Null(r!["peer_samples_per_s"]));
        Assert.All(alone, r => Assert.True(r!["samples_per_s"]!.GetValue<double>() > 0));
    }

    [Fact]
    public async Task Bench_video_and_bench_faces_write_their_figures()
    {
        string dir = TestData.NewTempDir("bench-json");
        string video = Path.Combine(dir, "video.json"), faces = Path.Combine(dir, "faces.json");
        var (code, _, stderr) = await CliTests.Run("bench", "video", "--cfg", TestData.Cfg("yolov3-tiny.cfg"), "--weights", "absent.weights",
            "--input", TestData.Shared("data", "video", "vtest.avi"), "--frames", "12", "--size", "320", "--json", video);
        Assert.True(code == 0, stderr);
        var v = Read(video);
        foreach (var key in new[] { "pipeline_fps", "inference_fps", "latency_p50_ms", "latency_p95_ms" })
            Assert.True(v[key]!.GetValue<double>() > 0, key);
        Assert.Equal(12, v["frames"]!.GetValue<int>());

        (code, _, stderr) = await CliTests.Run("bench", "faces", "--models", MovingImages.Tests.FaceAnalysis.FaceModels.Directory,
            "--images", TestData.Shared("data", "faces"), "--runs", "1", "--json", faces);
        Assert.True(code == 0, stderr);
        var f = Read(faces);
        foreach (var key in new[] { "tiny_ms", "ssd_ms", "landmarks_ms", "descriptors_ms", "ssd_landmarks_descriptors_ms", "landmarks_bf16_ms", "descriptors_bf16_ms", "ssd_bf16_ms" })
            Assert.True(f[key]!.GetValue<double>() > 0, key);
        Assert.InRange(f["bf16_descriptor_max_l2"]!.GetValue<double>(), 1e-6, 0.02); // bf16 ran (not fp32's numbers) and agrees
        Assert.InRange(f["bf16_landmarks_max_px"]!.GetValue<double>(), 0, 3);
        Assert.Equal(6, f["photos"]!.GetValue<int>());
    }
}
