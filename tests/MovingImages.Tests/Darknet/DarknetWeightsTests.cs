using MovingImages.Darknet;

namespace MovingImages.Tests.Darknet;

public class DarknetWeightsTests
{
    [Theory]
    [InlineData("yolov3-tiny.cfg")]
    [InlineData("yolov3.cfg")]
    public void Synthetic_weights_round_trip_bit_exactly(string cfgName)
    {
        var (config, weights, path) = SyntheticModels.Get(cfgName);
        Assert.Equal(20 + 4 * DarknetWeights.FloatCount(config), new FileInfo(path).Length);
        if (cfgName == "yolov3.cfg") Assert.Equal(248_007_048, new FileInfo(path).Length); // the official file's size
        var back = DarknetWeightsFile.Read(path, config);
        Assert.Equal(weights.Header, back.Header);
        Assert.Equal(weights.Layers.Count, back.Layers.Count);
        for (int i = 0; i < weights.Layers.Count; i++)
        {
            var a = weights.Layers[i];
            var b = back.Layers[i];
            Assert.Equal(a.LayerIndex, b.LayerIndex);
            Assert.True(a.Biases.AsSpan().SequenceEqual(b.Biases), $"layer {a.LayerIndex} biases");
            Assert.True(a.Kernel.AsSpan().SequenceEqual(b.Kernel), $"layer {a.LayerIndex} kernel");
            Assert.Equal(a.BatchNorm is null, b.BatchNorm is null);
            if (a.BatchNorm is { } x && b.BatchNorm is { } y)
            {
                Assert.True(x.Scales.AsSpan().SequenceEqual(y.Scales));
                Assert.True(x.RollingMean.AsSpan().SequenceEqual(y.RollingMean));
                Assert.True(x.RollingVariance.AsSpan().SequenceEqual(y.RollingVariance));
            }
        }
    }

    [Fact]
    public void Synthetic_weights_are_sane_and_deterministic()
    {
        var config = DarknetConfig.Load(TestData.Cfg("yolov3-tiny.cfg"));
        var a = SyntheticWeights.Generate(config, options: new SyntheticWeightsOptions(Seed: 3));
        var b = SyntheticWeights.Generate(config, options: new SyntheticWeightsOptions(Seed: 3));
        var c = SyntheticWeights.Generate(config, options: new SyntheticWeightsOptions(Seed: 4));
        Assert.True(a.Layers[0].Kernel.AsSpan().SequenceEqual(b.Layers[0].Kernel));
        Assert.False(a.Layers[0].Kernel.AsSpan().SequenceEqual(c.Layers[0].Kernel));
        // He scaling: kernel std ≈ sqrt(2 / fan-in)
        var layer = a.Layers[4];
        double std = Math.Sqrt(layer.Kernel.Select(v => (double)v * v).Average());
        double he = Math.Sqrt(2.0 / (layer.InputChannels * 9));
        Assert.InRange(std, he * 0.95, he * 1.05);
        // Calibrated batch norm (shared model): variances positive, means not all zero.
        var calibrated = SyntheticModels.Get("yolov3-tiny.cfg").Weights;
        Assert.All(calibrated.Layers.Where(l => l.BatchNorm != null), l => Assert.All(l.BatchNorm!.RollingVariance, v => Assert.True(v > 0)));
        Assert.Contains(calibrated.Layers[0].BatchNorm!.RollingMean, m => m != 0);
    }

    static string WriteBytes(byte[] bytes)
    {
        var path = Path.Combine(TestData.NewTempDir("bad-weights"), "x.weights");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    static byte[] ValidTinyFile() => File.ReadAllBytes(SyntheticModels.Get("yolov3-tiny.cfg").Path);

    [Fact]
    public void Truncated_file_reports_expected_and_actual_bytes()
    {
        var config = SyntheticModels.Get("yolov3-tiny.cfg").Config;
        var bytes = ValidTinyFile();
        var path = WriteBytes(bytes[..^1000]);
        var e = Assert.Throws<DarknetWeightsException>(() => DarknetWeightsFile.Read(path, config));
        Assert.Contains($"expected {bytes.Length:N0} bytes", e.Message);
        Assert.Contains($"the file has {bytes.Length - 1000:N0} bytes", e.Message);
        Assert.Contains("1,000 bytes short", e.Message);
    }

    [Fact]
    public void Extra_bytes_are_rejected()
    {
        var config = SyntheticModels.Get("yolov3-tiny.cfg").Config;
        var path = WriteBytes([.. ValidTinyFile(), 1, 2, 3, 4]);
        var e = Assert.Throws<DarknetWeightsException>(() => DarknetWeightsFile.Read(path, config));
        Assert.Contains("4 bytes too many", e.Message);
    }

    [Fact]
    public void Weights_for_another_network_are_rejected_before_allocating()
    {
        var tiny = SyntheticModels.Get("yolov3-tiny.cfg").Path;
        var full = DarknetConfig.Load(TestData.Cfg("yolov3.cfg"));
        var e = Assert.Throws<DarknetWeightsException>(() => DarknetWeightsFile.Read(tiny, full));
        Assert.Contains("yolov3.cfg", e.Message);
        Assert.Contains("bytes short", e.Message);
    }

    [Fact]
    public void Wrong_header_is_named()
    {
        var config = SyntheticModels.Get("yolov3-tiny.cfg").Config;
        var bytes = ValidTinyFile();
        BitConverter.GetBytes(0x4A504547).CopyTo(bytes, 0); // not a version number
        var e = Assert.Throws<DarknetWeightsException>(() => DarknetWeightsFile.Read(WriteBytes(bytes), config));
        Assert.Contains("byte 0", e.Message);
        Assert.Contains("not a darknet weights header", e.Message);
        var tooShort = Assert.Throws<DarknetWeightsException>(() => DarknetWeightsFile.Read(WriteBytes([0, 0, 0]), config));
        Assert.Contains("too short", tooShort.Message);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(19)]
    public void A_file_shorter_than_its_header_names_the_file(int length)
    {
        var config = SyntheticModels.Get("yolov3-tiny.cfg").Config;
        var path = WriteBytes(ValidTinyFile()[..length]); // version 0.2.0 promises a 20-byte header
        var e = Assert.Throws<DarknetWeightsException>(() => DarknetWeightsFile.Read(path, config));
        Assert.Contains(path, e.Message);
        Assert.Contains($"{length} bytes is too short for a darknet 0.2.0 weights header (20 bytes)", e.Message);
    }

    [Fact]
    public void Non_finite_values_are_refused_with_layer_line_and_byte_offset_unless_allowed()
    {
        var config = SyntheticModels.Get("yolov3-tiny.cfg").Config;
        var bytes = ValidTinyFile();
        var first = config.ConvolutionalLayers[0];                       // batch-normalised: shifts, scales, means, variances, kernel
        int kernelStart = 20 + 4 * 4 * first.Filters;
        for (int k = 0; k < 100; k++) BitConverter.GetBytes(k % 2 == 0 ? float.NaN : float.PositiveInfinity).CopyTo(bytes, kernelStart + 40 + 4 * k);
        var path = WriteBytes(bytes);
        var e = Assert.Throws<DarknetWeightsException>(() => DarknetWeightsFile.Read(path, config));
        Assert.Contains($"layer 0 (convolutional, line {first.Line} of yolov3-tiny.cfg), kernel: value 10 at byte {kernelStart + 40:N0} is NaN (100 such values", e.Message);
        Assert.Contains(path, e.Message);
        var allowed = DarknetWeightsFile.Read(path, config, allowNonFinite: true);  // for experiments
        Assert.True(float.IsNaN(allowed.Layers[0].Kernel[10]));

        var negative = ValidTinyFile();
        int variances = 20 + 4 * 3 * first.Filters;
        BitConverter.GetBytes(-0.5f).CopyTo(negative, variances + 4 * 3);
        var v = Assert.Throws<DarknetWeightsException>(() => DarknetWeightsFile.Read(WriteBytes(negative), config));
        Assert.Contains($"rolling variances: value 3 at byte {variances + 12:N0} is a negative variance (-0.5)", v.Message);
    }

    [Fact]
    public void Old_header_with_32_bit_seen_round_trips()
    {
        var config = SyntheticModels.Get("yolov3-tiny.cfg").Config;
        var weights = SyntheticModels.Get("yolov3-tiny.cfg").Weights;
        var old = new DarknetWeights(new DarknetWeightsHeader(0, 1, 0, 12345), weights.Layers);
        var path = Path.Combine(TestData.NewTempDir("old"), "old.weights");
        DarknetWeightsFile.Write(path, old, config);
        Assert.Equal(16 + 4 * DarknetWeights.FloatCount(config), new FileInfo(path).Length);
        var back = DarknetWeightsFile.Read(path, config);
        Assert.Equal(old.Header, back.Header);
        Assert.True(weights.Layers[^1].Kernel.AsSpan().SequenceEqual(back.Layers[^1].Kernel));
    }

    [Fact]
    public void Writer_checks_layers_against_the_config_and_never_leaves_partial_files()
    {
        var (config, weights, _) = SyntheticModels.Get("yolov3-tiny.cfg");
        var dir = TestData.NewTempDir("writer");
        var path = Path.Combine(dir, "w.weights");
        File.WriteAllText(path, "precious");
        var broken = new DarknetWeights(weights.Header, weights.Layers.Take(3).ToArray());
        var e = Assert.Throws<ArgumentException>(() => DarknetWeightsFile.Write(path, broken, config));
        Assert.Contains("3 layers of weights for 13 convolutional layers", e.Message);
        Assert.Equal("precious", File.ReadAllText(path)); // untouched
        Assert.Single(Directory.GetFiles(dir));
    }
}
