using MovingImages.Darknet;
using MovingImages.ObjectDetection;
using MovingImages.Imaging;
using TorchSharp;
using Xunit.Abstractions;
using MovingImages.Geometry;

namespace MovingImages.Tests.Darknet;

public class NetworkAgreementTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("yolov3-tiny.cfg", "dog.jpg")]
    [InlineData("yolov3-tiny.cfg", "horses.jpg")]
    [InlineData("yolov3.cfg", "dog.jpg")]
    [InlineData("yolov3.cfg", "horses.jpg")]
    public void Raw_heads_match_opencv_dnn(string cfgName, string image)
    {
        var (config, weights, path) = SyntheticModels.Get(cfgName);
        using var yolo = Yolo.FromWeights(config, weights, ClassNames.Load(TestData.CocoNames), torch.CPU);
        using var peer = new OpenCvDarknet(TestData.Cfg(cfgName), path);
        output.WriteLine(string.Join(" ", peer.LayerNames.Where(n => n.StartsWith("yolo") || n.StartsWith("conv")).TakeLast(6)));
        using var mat = ImageFiles.Read(TestData.Image(image));
        var (input, _) = yolo.Prepare([mat], SyntheticModels.Size);
        using var scope = torch.NewDisposeScope();
        var heads = yolo.Forward(input);
        var names = OpenCvDarknet.HeadLayerNames(config);
        var theirs = peer.Forward(input, names);
        for (int h = 0; h < heads.Length; h++)
        {
            var ours = heads[h].contiguous().data<float>().ToArray();
            Assert.Equal(heads[h].shape.Select(s => (int)s), theirs[h].Shape);
            float maxRaw = 0, maxLogistic = 0;
            for (int i = 0; i < ours.Length; i++)
            {
                maxRaw = Math.Max(maxRaw, Math.Abs(ours[i] - theirs[h].Data[i]));
                maxLogistic = Math.Max(maxLogistic, Math.Abs(Sigmoid(ours[i]) - Sigmoid(theirs[h].Data[i])));
            }
            output.WriteLine($"{cfgName} {image} head {h}: max |Δraw| = {maxRaw:g3}, max |Δlogistic| = {maxLogistic:g3}");
            Assert.True(maxLogistic <= 1e-3f, $"head {h}: max abs difference after the logistic {maxLogistic} > 1e-3");
        }
    }

    [Theory]
    [InlineData("yolov3-tiny.cfg", "dog.jpg")]
    [InlineData("yolov3-tiny.cfg", "horses.jpg")]
    [InlineData("yolov3.cfg", "dog.jpg")]
    [InlineData("yolov3.cfg", "horses.jpg")]
    public void Detections_match_opencv_dnn(string cfgName, string image)
    {
        var (config, weights, path) = SyntheticModels.Get(cfgName);
        using var yolo = Yolo.FromWeights(config, weights, ClassNames.Load(TestData.CocoNames), torch.CPU);
        using var peer = new OpenCvDarknet(TestData.Cfg(cfgName), path);
        using var mat = ImageFiles.Read(TestData.Image(image));
        var options = new YoloOptions(SyntheticModels.Size, 0.5f, 0.45f);
        var ours = yolo.DetectObjects([mat], options)[0];

        // OpenCV: its own [yolo] decoding (boxes as fractions of the input, class scores = objectness × probability),
        // mapped back to the image by plain geometry here, and its own NMS per class.
        var (input, _) = yolo.Prepare([mat], SyntheticModels.Size);
        using var scope = torch.NewDisposeScope();
        var outs = peer.Forward(input, config.YoloLayers.Select(y => $"yolo_{y.Index}").ToArray());
        float scale = Math.Min((float)options.InputSize / mat.Cols, (float)options.InputSize / mat.Rows);
        float newW = (int)(mat.Cols * scale + 0.0001f), newH = (int)(mat.Rows * scale + 0.0001f);
        float dx = (int)((options.InputSize - newW) / 2), dy = (int)((options.InputSize - newH) / 2);
        var theirs = new List<Detection>();
        for (int c = 0; c < config.Classes; c++)
        {
            var boxes = new List<OpenCvSharp.Rect2d>();
            var scores = new List<float>();
            foreach (var (data, shape) in outs)
            {
                int rows = shape[0], cols = shape[1];
                for (int r = 0; r < rows; r++)
                {
                    float obj = data[r * cols + 4], score = data[r * cols + 5 + c];
                    if (obj <= options.Confidence || score <= options.Confidence) continue;
                    float cx = data[r * cols] * options.InputSize, cy = data[r * cols + 1] * options.InputSize;
                    float w = data[r * cols + 2] * options.InputSize, h = data[r * cols + 3] * options.InputSize;
                    boxes.Add(new OpenCvSharp.Rect2d((cx - w / 2 - dx) * mat.Cols / newW, (cy - h / 2 - dy) * mat.Rows / newH, w * mat.Cols / newW, h * mat.Rows / newH));
                    scores.Add(score);
                }
            }
            OpenCvSharp.Dnn.CvDnn.NMSBoxes(boxes, scores, options.Confidence, options.NmsIou, out int[] kept);
            foreach (var k in kept)
            {
                var b = boxes[k];
                var clipped = new Box((float)b.X, (float)b.Y, (float)b.Width, (float)b.Height).ClipTo(mat.Cols, mat.Rows);
                if (clipped.Area <= 0) continue; // wholly outside the image: dropped by our decoder too
                theirs.Add(new Detection(c, "", scores[k], new Box((float)b.X, (float)b.Y, (float)b.Width, (float)b.Height).ClipTo(mat.Cols, mat.Rows)));
            }
        }
        output.WriteLine($"ours:   {string.Join("; ", ours)}");
        output.WriteLine($"OpenCV: {string.Join("; ", theirs.OrderByDescending(d => d.Score).Select(d => $"{d.ClassId} {d.Score:0.000} {d.Box}"))}");
        Assert.NotEmpty(ours); // the synthetic heads are tuned so that a handful fire; an empty list would prove nothing
        Assert.Equal(theirs.Count, ours.Count);
        foreach (var d in ours)
        {
            var match = theirs.Where(t => t.ClassId == d.ClassId).OrderByDescending(t => t.Box.IoU(d.Box)).FirstOrDefault();
            Assert.True(match != null, $"OpenCV has no {d.Label}");
            Assert.True(match.Box.IoU(d.Box) >= 0.99f, $"{d}: best OpenCV match {match.Box} has IoU {match.Box.IoU(d.Box):0.0000}");
            Assert.InRange(match.Score, d.Score - 2e-3f, d.Score + 2e-3f);
        }
    }

    static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));
}
