using MovingImages.Darknet;
using MovingImages.Imaging;
using MovingImages.ObjectDetection;
using MovingImages.Runtime;
using TorchSharp;
using Xunit.Abstractions;
using MovingImages.Geometry;

namespace MovingImages.Tests.Darknet;

/// <summary>YOLO in bfloat16: weights converted once at load, the network in bf16, what comes out float32 and close to fp32's.</summary>
public class Bf16InferenceTests(ITestOutputHelper output)
{
    [Fact]
    public void A_bf16_detector_runs_in_bf16_and_finds_what_fp32_finds()
    {
        var (config, weights, _) = SyntheticModels.Get("yolov3-tiny.cfg");
        using var fp32 = Yolo.FromWeights(config, weights, ClassNames.Load(TestData.CocoNames), torch.CPU);
        using var bf16 = Yolo.FromWeights(config, weights, ClassNames.Load(TestData.CocoNames), torch.CPU, Precision.BFloat16);
        Assert.Equal(Precision.BFloat16, bf16.Precision);
        Assert.All(bf16.Network.parameters(), p => Assert.Equal(torch.ScalarType.BFloat16, p.dtype));   // converted once, at load
        Assert.All(fp32.Network.parameters(), p => Assert.Equal(torch.ScalarType.Float32, p.dtype));

        using var mat = ImageFiles.Read(TestData.Image("dog.jpg"));
        var (input, _) = fp32.Prepare([mat], SyntheticModels.Size);
        using (input)
        using (var scope = torch.NewDisposeScope())
        {
            var a = fp32.Forward(input);
            var b = bf16.Forward(input);
            for (int h = 0; h < a.Length; h++)
            {
                Assert.Equal(torch.ScalarType.Float32, b[h].dtype);                                    // the heads come out float32
                float diff = (a[h].sigmoid() - b[h].sigmoid()).abs().max().item<float>();
                output.WriteLine($"head {h}: max |Δlogistic| fp32 vs bf16 = {diff:g3}");
                Assert.True(diff < 0.1f, $"head {h}: bf16 differs from fp32 by {diff} after the logistic");
                Assert.True(diff > 0, "bf16 gave exactly fp32's numbers: it did not run in bf16");
            }
        }

        var photos = new[] { "dog.jpg", "horses.jpg" }.Select(n => ImageFiles.Read(TestData.Image(n))).ToList();
        try
        {
            int matched = 0, total = 0;
            foreach (var photo in photos)
            {
                var (m, t) = DetectionAgreement.Count(fp32.DetectObjects([photo])[0], bf16.DetectObjects([photo])[0]);
                matched += m;
                total += t;
            }
            output.WriteLine($"bf16 agreement: {matched}/{total}");
            Assert.True(total >= 3, "the synthetic weights should fire on the calibration photos");
            Assert.True(matched >= 0.9 * total, $"bf16 found only {matched} of fp32's {total} boxes (same class, IoU ≥ 0.9)");
        }
        finally
        {
            photos.ForEach(p => p.Dispose());
        }
    }

    [Fact]
    public void Low_precision_on_a_cpu_without_it_is_said_once()
    {
        Assert.Null(CpuFeatures.EmulationNote(Precision.Float32, torch.CPU));
        Assert.Contains("no fp16 arithmetic", CpuFeatures.EmulationNote(Precision.Float16, torch.CPU));   // libtorch has none on CPUs
        if (OperatingSystem.IsLinux()) Assert.NotNull(CpuFeatures.HasBFloat16);                             // read from /proc/cpuinfo
        // this machine (AMD EPYC with AVX512-BF16) runs bf16 natively; elsewhere the note says it is emulated
        Assert.Equal(CpuFeatures.HasBFloat16 == false, CpuFeatures.EmulationNote(Precision.BFloat16, torch.CPU) is not null);
        var log = new StringWriter();
        CpuFeatures.WarnIfEmulated(Precision.Float16, torch.CPU, log);
        CpuFeatures.WarnIfEmulated(Precision.Float16, torch.CPU, log);
        Assert.True(log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length <= 1, log.ToString()); // never twice in a process
    }
}
