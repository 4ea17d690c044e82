using System.Text.Json;
using MovingImages.FaceAnalysis;
using MovingImages.Imaging;
using TorchSharp;
using Xunit.Abstractions;
using MovingImages.Geometry;

namespace MovingImages.Tests.FaceAnalysis;

public class TinyFaceDetectorTests(ITestOutputHelper output)
{
    internal static JsonElement Reference(string image) =>
        JsonDocument.Parse(File.ReadAllText(TestData.Shared("reference", "faceapi-samples-1-2.json"))).RootElement.GetProperty("images").GetProperty(image);

    /// <summary>Each reference face matched by one of ours at IoU ≥ 0.9 with the score within 0.02, and no extra faces.</summary>
    internal static void AssertSameFaces(JsonElement referenceFaces, IReadOnlyList<FaceDetection> ours, ITestOutputHelper output)
    {
        var reference = referenceFaces.EnumerateArray()
            .Select(r => (Box: new Box(r.GetProperty("x").GetSingle(), r.GetProperty("y").GetSingle(), r.GetProperty("w").GetSingle(), r.GetProperty("h").GetSingle()), Score: r.GetProperty("score").GetSingle()))
            .ToArray();
        output.WriteLine("ours: " + string.Join("; ", ours.Select(f => $"{f.Score:0.000} {f.Box}")));
        output.WriteLine("ref:  " + string.Join("; ", reference.Select(f => $"{f.Score:0.000} {f.Box}")));
        Assert.Equal(reference.Length, ours.Count);
        foreach (var r in reference)
        {
            var best = ours.OrderByDescending(o => o.Box.IoU(r.Box)).First();
            Assert.True(best.Box.IoU(r.Box) >= 0.9f, $"reference {r.Box}: best IoU {best.Box.IoU(r.Box):0.000} ({best.Box})");
            Assert.InRange(best.Score, r.Score - 0.02f, r.Score + 0.02f);
        }
    }

    [Theory]
    [InlineData("sample1.jpg")]
    [InlineData("sample2.jpg")]
    public void Finds_the_faces_face_api_found(string image)
    {
        using var detector = TinyFaceDetector.Load(FaceModels.Directory, torch.CPU);
        using var mat = ImageFiles.Read(TestData.Shared("data", "faces", image));
        var ours = detector.Detect(mat, new TinyFaceDetectorOptions(416, 0.5f));
        AssertSameFaces(Reference(image).GetProperty("tiny"), ours, output);
    }
}

public class SsdMobilenetv1Tests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("sample1.jpg")]
    [InlineData("sample2.jpg")]
    public void Finds_the_faces_face_api_found(string image)
    {
        using var detector = SsdMobilenetv1.Load(FaceModels.Directory, torch.CPU);
        using var mat = ImageFiles.Read(TestData.Shared("data", "faces", image));
        var ours = detector.Detect(mat, new SsdMobilenetv1Options(0.5f, 100));
        TinyFaceDetectorTests.AssertSameFaces(TinyFaceDetectorTests.Reference(image).GetProperty("ssd"), ours, output);
    }
}

public class FaceLandmark68NetTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("sample1.jpg")]
    [InlineData("sample2.jpg")]
    public void Landmarks_match_face_api_within_a_pixel_and_a_half(string image)
    {
        using var net = FaceLandmark68Net.Load(FaceModels.Directory, torch.CPU);
        using var mat = ImageFiles.Read(TestData.Shared("data", "faces", image));
        foreach (var face in TinyFaceDetectorTests.Reference(image).GetProperty("ssd").EnumerateArray())
        {
            var box = new Box(face.GetProperty("x").GetSingle(), face.GetProperty("y").GetSingle(), face.GetProperty("w").GetSingle(), face.GetProperty("h").GetSingle());
            var expected = face.GetProperty("landmarks68").EnumerateArray().Select(p => (X: p[0].GetSingle(), Y: p[1].GetSingle())).ToArray();
            var ours = net.Detect(mat, box).Points;
            Assert.Equal(68, ours.Length);
            double mean = ours.Zip(expected, (a, e) => Math.Sqrt((a.X - e.X) * (a.X - e.X) + (a.Y - e.Y) * (a.Y - e.Y))).Average();
            double max = ours.Zip(expected, (a, e) => Math.Sqrt((a.X - e.X) * (a.X - e.X) + (a.Y - e.Y) * (a.Y - e.Y))).Max();
            output.WriteLine($"{image} face at {box}: mean {mean:0.000} px, max {max:0.000} px");
            Assert.True(mean <= 1.5, $"mean landmark distance {mean:0.00} px");
        }
    }
}

public class FaceRecognitionNetTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("sample1.jpg")]
    [InlineData("sample2.jpg")]
    public void Descriptors_match_face_api(string image)
    {
        using var landmarks = FaceLandmark68Net.Load(FaceModels.Directory, torch.CPU);
        using var net = FaceRecognitionNet.Load(FaceModels.Directory, torch.CPU);
        using var mat = ImageFiles.Read(TestData.Shared("data", "faces", image));
        var descriptors = new List<float[]>();
        var references = new List<float[]>();
        foreach (var face in TinyFaceDetectorTests.Reference(image).GetProperty("ssd").EnumerateArray())
        {
            var box = new Box(face.GetProperty("x").GetSingle(), face.GetProperty("y").GetSingle(), face.GetProperty("w").GetSingle(), face.GetProperty("h").GetSingle());
            var expected = face.GetProperty("descriptor").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            var ours = net.Describe(mat, landmarks.Detect(mat, box));
            float distance = FaceRecognitionNet.Distance(ours, expected);
            output.WriteLine($"{image} face at {box}: L2 to face-api's descriptor {distance:0.00000}");
            Assert.Equal(128, ours.Length);
            Assert.True(distance <= 0.02f, $"descriptor distance {distance}");
            descriptors.Add(ours);
            references.Add(expected);
        }
        // the same-person decisions between the faces of the photo are face-api's
        for (int i = 0; i < descriptors.Count; i++)
            for (int j = i + 1; j < descriptors.Count; j++)
                Assert.Equal(FaceRecognitionNet.Distance(references[i], references[j]), FaceRecognitionNet.Distance(descriptors[i], descriptors[j]), 1e-3f);
    }
}

public class FaceNetworksBf16Tests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("sample1.jpg")]
    [InlineData("sample2.jpg")]
    public void Bf16_descriptors_are_within_0_02_of_fp32_and_of_face_api(string image)
    {
        using var landmarks = FaceLandmark68Net.Load(FaceModels.Directory, torch.CPU);
        using var landmarksBf16 = FaceLandmark68Net.Load(FaceModels.Directory, torch.CPU, MovingImages.Runtime.Precision.BFloat16);
        using var net = FaceRecognitionNet.Load(FaceModels.Directory, torch.CPU);
        using var bf16 = FaceRecognitionNet.Load(FaceModels.Directory, torch.CPU, MovingImages.Runtime.Precision.BFloat16);
        Assert.Equal(MovingImages.Runtime.Precision.BFloat16, bf16.Precision);
        using var mat = ImageFiles.Read(TestData.Shared("data", "faces", image));
        int faces = 0;
        foreach (var face in TinyFaceDetectorTests.Reference(image).GetProperty("ssd").EnumerateArray())
        {
            var box = new Box(face.GetProperty("x").GetSingle(), face.GetProperty("y").GetSingle(), face.GetProperty("w").GetSingle(), face.GetProperty("h").GetSingle());
            var expected = face.GetProperty("descriptor").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            var marks = landmarks.Detect(mat, box);
            var ours = net.Describe(mat, marks);
            var ours16 = bf16.Describe(mat, marks);
            float toFp32 = FaceRecognitionNet.Distance(ours16, ours), toFaceApi = FaceRecognitionNet.Distance(ours16, expected);
            var marks16 = landmarksBf16.Detect(mat, box);
            double px = marks.Points.Zip(marks16.Points).Max(p => Math.Sqrt(Math.Pow(p.First.X - p.Second.X, 2) + Math.Pow(p.First.Y - p.Second.Y, 2)));
            output.WriteLine($"{image} face at {box}: bf16 descriptor L2 {toFp32:0.00000} to fp32, {toFaceApi:0.00000} to face-api; bf16 landmarks ≤ {px:0.00} px off");
            Assert.True(toFp32 <= 0.02f, $"bf16 descriptor {toFp32} from fp32's");
            Assert.True(toFp32 > 0, "bf16 gave exactly fp32's descriptor: the network did not run in bf16");
            Assert.True(toFaceApi <= 0.03f, $"bf16 descriptor {toFaceApi} from face-api's");
            Assert.True(px <= 3, $"bf16 landmarks {px:0.00} px from fp32's");
            faces++;
        }
        Assert.True(faces > 0);
    }

    [Theory]
    [InlineData("sample1.jpg")]
    [InlineData("sample2.jpg")]
    public void Bf16_ssd_finds_the_faces_fp32_finds(string image)
    {
        using var fp32 = SsdMobilenetv1.Load(FaceModels.Directory, torch.CPU);
        using var bf16 = SsdMobilenetv1.Load(FaceModels.Directory, torch.CPU, MovingImages.Runtime.Precision.BFloat16);
        using var mat = ImageFiles.Read(TestData.Shared("data", "faces", image));
        var options = new SsdMobilenetv1Options(0.3f, 100); // below the 0.5 default, so a face near the threshold is compared, not dropped
        var reference = fp32.Detect(mat, options).Where(f => f.Score >= 0.5f).ToArray();
        var ours = bf16.Detect(mat, options);
        output.WriteLine("fp32: " + string.Join("; ", reference.Select(f => $"{f.Score:0.000} {f.Box}")));
        output.WriteLine("bf16: " + string.Join("; ", ours.Select(f => $"{f.Score:0.000} {f.Box}")));
        Assert.NotEmpty(reference);
        foreach (var f in reference)
        {
            var best = ours.OrderByDescending(o => o.Box.IoU(f.Box)).First();
            Assert.True(best.Box.IoU(f.Box) >= 0.9f, $"fp32 face {f.Box}: best bf16 IoU {best.Box.IoU(f.Box):0.000}");
            Assert.InRange(best.Score, f.Score - 0.05f, f.Score + 0.05f);
        }
    }
}
