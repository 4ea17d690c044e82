using System.Text.Json.Nodes;
using MovingImages.FaceAnalysis;
using MovingImages.Nn;

namespace MovingImages.Tests.FaceAnalysis;

public class TfjsWeightsTests
{
    /// <summary>A copy of the tiny detector's manifest and shard that a test may damage.</summary>
    static (string Manifest, string Bin) Copy()
    {
        var dir = TestData.NewTempDir("tfjs");
        string manifest = Path.Combine(dir, TinyFaceDetector.ManifestName), bin = Path.Combine(dir, "tiny_face_detector_model.bin");
        File.Copy(Path.Combine(FaceModels.Directory, TinyFaceDetector.ManifestName), manifest);
        File.Copy(Path.Combine(FaceModels.Directory, "tiny_face_detector_model.bin"), bin);
        return (manifest, bin);
    }

    [Fact]
    public void Loads_dequantises_and_converts_layouts()
    {
        using var w = TfjsWeights.Load(Path.Combine(FaceModels.Directory, TinyFaceDetector.ManifestName));
        Assert.Equal(19, w.Names.Count);
        Assert.Equal([3L, 3, 3, 16], w.Get("conv0/filters").shape);
        Assert.Equal([16L, 3, 3, 3], w.Conv("conv0/filters").shape);             // HWIO → OIHW
        Assert.Equal([16L, 1, 3, 3], w.Depthwise("conv1/depthwise_filter").shape); // [h,w,in,1] → [in,1,h,w]
        // element mapping: OIHW[o,i,y,x] == HWIO[y,x,i,o]
        Assert.Equal(w.Get("conv0/filters")[2, 1, 0, 5].item<float>(), w.Conv("conv0/filters")[5, 0, 2, 1].item<float>());
        Assert.Equal(w.Get("conv1/depthwise_filter")[0, 2, 7, 0].item<float>(), w.Depthwise("conv1/depthwise_filter")[7, 0, 0, 2].item<float>());
        // uint8 quantisation: every value is min + k·scale for an integer k in 0..255
        var bias = w.Get("conv0/bias").data<float>().ToArray();
        Assert.All(bias, v => { double k = (v - -0.9211046672334858) / 0.005263455241334205; Assert.InRange(Math.Abs(k - Math.Round(k)), 0, 1e-3); Assert.InRange(k, -0.01, 255.01); });
        var e = Assert.Throws<TfjsWeightsException>(() => w.Get("conv0/bias", 17));
        Assert.Contains("'conv0/bias' is [16], expected [17]", e.Message);
    }

    [Fact]
    public void A_truncated_bin_is_rejected_naming_the_tensor()
    {
        var (manifest, bin) = Copy();
        var bytes = File.ReadAllBytes(bin);
        File.WriteAllBytes(bin, bytes[..(bytes.Length - 100)]);
        var e = Assert.Throws<TfjsWeightsException>(() => TfjsWeights.Load(manifest));
        Assert.Contains("tensor 'conv8/", e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void A_manifest_whose_shapes_do_not_add_up_is_rejected()
    {
        var (manifest, _) = Copy();
        var json = JsonNode.Parse(File.ReadAllText(manifest))!;
        json[0]!["weights"]![1]!["shape"] = new JsonArray(8); // conv0/bias: 16 → 8 values
        File.WriteAllText(manifest, json.ToJsonString());
        var e = Assert.Throws<TfjsWeightsException>(() => TfjsWeights.Load(manifest));
        Assert.Contains("do not match", e.Message);
    }

    static string Damage(string manifest, Action<JsonNode> change)
    {
        var json = JsonNode.Parse(File.ReadAllText(manifest))!;
        change(json);
        File.WriteAllText(manifest, json.ToJsonString());
        return Assert.Throws<TfjsWeightsException>(() => TfjsWeights.Load(manifest)).Message;
    }

    [Fact]
    public void Negative_or_zero_dimensions_are_rejected_before_allocating()
    {
        var (manifest, _) = Copy();
        Assert.Contains("tensor 'conv0/bias' has shape [-3]; every dimension must be at least 1", Damage(manifest, j => j[0]!["weights"]![1]!["shape"] = new JsonArray(-3))); // was OverflowException, exit 134
        Assert.Contains("has shape [16,0]", Damage(manifest, j => j[0]!["weights"]![1]!["shape"] = new JsonArray(16, 0)));
        Assert.Contains("has more values than its shards have bytes", Damage(manifest, j => j[0]!["weights"]![1]!["shape"] = new JsonArray(1 << 30, 1 << 30, 1 << 30)));
    }

    [Fact]
    public void Swapped_dimensions_of_the_same_size_fail_at_load_naming_the_file()
    {
        var (manifest, _) = Copy();
        var json = JsonNode.Parse(File.ReadAllText(manifest))!;
        var pointwise = json[0]!["weights"]!.AsArray().Single(w => w!["name"]!.GetValue<string>() == "conv1/pointwise_filter")!;
        var shape = pointwise["shape"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();  // [1,1,16,32]
        pointwise["shape"] = new JsonArray(shape[0], shape[1], shape[3], shape[2]);           // same byte count
        File.WriteAllText(manifest, json.ToJsonString());
        using (TfjsWeights.Load(manifest)) { }                                              // the file itself adds up
        var e = Assert.Throws<TfjsWeightsException>(() => TinyFaceDetector.Load(Path.GetDirectoryName(manifest)!));
        Assert.StartsWith($"{TinyFaceDetector.ManifestName}: its tensors do not fit the TinyFaceDetector network", e.Message);
        Assert.DoesNotContain("\n", e.Message);                                             // one line, no C++ frames
        using var good = TinyFaceDetector.Load(FaceModels.Directory);                         // the real one passes the same check
    }

    [Fact]
    public void Shard_paths_must_stay_in_the_manifests_folder()
    {
        var (manifest, _) = Copy();
        Assert.Contains("points outside the manifest's folder", Damage(manifest, j => j[0]!["paths"] = new JsonArray("../../../../../../etc/hostname")));
        Assert.Contains("must be a file name relative to the manifest's folder", Damage(manifest, j => j[0]!["paths"] = new JsonArray("/etc/passwd")));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(1e308)]
    public void Insane_quantization_scales_are_rejected(double scale)
    {
        var (manifest, _) = Copy();
        string message = Damage(manifest, j => j[0]!["weights"]![0]!["quantization"]!["scale"] = scale);
        Assert.Contains("'conv0/filters'", message);                                 // was "845 faces"
    }

    [Fact]
    public void An_unknown_dtype_is_rejected()
    {
        var (manifest, _) = Copy();
        var json = JsonNode.Parse(File.ReadAllText(manifest))!;
        json[0]!["weights"]![0]!["quantization"]!["dtype"] = "int4";
        File.WriteAllText(manifest, json.ToJsonString());
        var e = Assert.Throws<TfjsWeightsException>(() => TfjsWeights.Load(manifest));
        Assert.Contains("'conv0/filters' uses quantization dtype 'int4'", e.Message);
        json[0]!["weights"]![0]!["dtype"] = "complex64";
        File.WriteAllText(manifest, json.ToJsonString());
        Assert.Contains("dtype 'complex64'", Assert.Throws<TfjsWeightsException>(() => TfjsWeights.Load(manifest)).Message);
        Assert.Throws<FileNotFoundException>(() => TfjsWeights.Load("/nonexistent/x-weights_manifest.json"));
    }

    [Fact]
    public void Tf_same_padding_puts_the_extra_pixel_after()
    {
        Assert.Equal((0, 1), TfOps.SamePadding(13, 2, 1));
        Assert.Equal((0, 1), TfOps.SamePadding(207, 2, 2));
        Assert.Equal((0, 0), TfOps.SamePadding(208, 2, 2));
        Assert.Equal((0, 1), TfOps.SamePadding(300, 3, 2));
        Assert.Equal((1, 1), TfOps.SamePadding(300, 3, 1));
    }
}
