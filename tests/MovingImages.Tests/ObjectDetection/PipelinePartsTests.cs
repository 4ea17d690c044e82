using MovingImages.Darknet;
using MovingImages.Imaging;
using MovingImages.ObjectDetection;
using OpenCvSharp;
using TorchSharp;
using Scalar = OpenCvSharp.Scalar;
using static TorchSharp.torch;
using MovingImages.Drawing;
using MovingImages.Geometry;

namespace MovingImages.Tests.ObjectDetection;

public class PipelinePartsTests
{
    [Fact]
    public void Letterboxed_tensor_has_grey_padding_and_the_image_corners()
    {
        using var img = new Mat(60, 80, MatType.CV_8UC3, new Scalar(10, 20, 30)); // BGR
        img.Set(0, 0, new Vec3b(255, 0, 0));    // top-left pure blue
        img.Set(59, 79, new Vec3b(0, 0, 255));  // bottom-right pure red
        var (t, boxes) = ImageTensor.LetterboxBatch([img], 64);
        using (t)
        {
            var lb = boxes[0];
            Assert.Equal((64, 48, 0, 8), (lb.ScaledWidth, lb.ScaledHeight, lb.OffsetX, lb.OffsetY));
            Assert.Equal([1L, 3, 64, 64], t.shape);
            Assert.Equal(0.5f, t[0, 0, 0, 0].item<float>());
            Assert.Equal(0.5f, t[0, 2, 63, 63].item<float>());
            // aligned corners: the corner pixels survive the resize exactly (RGB order)
            Assert.Equal(0f, t[0, 0, 8, 0].item<float>());
            Assert.Equal(1f, t[0, 2, 8, 0].item<float>());
            Assert.Equal(1f, t[0, 0, 55, 63].item<float>());
            Assert.Equal(30 / 255f, t[0, 0, 30, 30].item<float>(), 5);
            Assert.Equal(10 / 255f, t[0, 2, 30, 30].item<float>(), 5);
        }
    }

    [Fact]
    public void Tensor_and_mat_round_trip()
    {
        using var img = new Mat(7, 5, MatType.CV_8UC3);
        Cv2.Randu(img, Scalar.All(0), Scalar.All(255));
        using var t = ImageTensor.ToRgbTensor(img);
        using var back = ImageTensor.ToBgrMat(t);
        Assert.Equal(0, Cv2.Norm(img, back, NormTypes.INF));
        using var gray = new Mat(4, 4, MatType.CV_8UC1, Scalar.All(9));
        using var g = ImageTensor.ToRgbTensor(gray);
        Assert.Equal([1L, 3, 4, 4], g.shape);
        Assert.Throws<ArgumentException>(() => ImageTensor.ToRgbTensor(new Mat(3, 3, MatType.CV_32FC3)));
    }

    [Fact]
    public void Decoder_places_one_hand_made_detection_exactly()
    {
        var cfg = DarknetConfig.Load(TestData.Cfg("yolov3-tiny.cfg"));
        var head0 = cfg.YoloLayers[0]; // 13×13, anchors (81,82) (135,169) (344,319)
        using var scope = torch.NewDisposeScope();
        var raw0 = torch.full([1, 255, 13, 13], -10f);
        var raw1 = torch.full([1, 255, 26, 26], -10f);
        int a = 1, row = 4, col = 6, v = head0.ValuesPerAnchor;
        raw0[0, a * v + 0, row, col] = torch.tensor(0f);                 // x: sigmoid 0.5
        raw0[0, a * v + 1, row, col] = torch.tensor(0f);                 // y
        raw0[0, a * v + 2, row, col] = torch.tensor(MathF.Log(2));       // w: 2 × 135
        raw0[0, a * v + 3, row, col] = torch.tensor(0f);                 // h: 169
        raw0[0, a * v + 4, row, col] = torch.tensor(4f);                 // objectness 0.982
        raw0[0, a * v + 5 + 16, row, col] = torch.tensor(5f);            // class 16 (dog)
        var decoded = YoloDecoder.Decode([raw0, raw1], cfg.YoloLayers, 416, 416);
        Assert.Equal([1L, 3 * 169 + 3 * 676, 85], decoded.shape);
        var lb = Letterbox.Compute(832, 624, 416, 416); // scale 0.5, offset y 52
        var dets = YoloDecoder.Select(decoded[0], lb, ClassNames.Load(TestData.CocoNames), 0.5f, 0.45f);
        var d = Assert.Single(dets);
        Assert.Equal((16, "dog"), (d.ClassId, d.Label));
        float obj = 1 / (1 + MathF.Exp(-4)), cls = 1 / (1 + MathF.Exp(-5));
        Assert.Equal(obj * cls, d.Score, 5);
        // centre in the input: (6.5/13·416, 4.5/13·416) = (208, 144); size (270, 169); image = (input − offset) × 2
        Assert.Equal(new Box((208 - 135) * 2, (144 - 84.5f - 52) * 2, 540, 338).X, d.Box.X, 2);
        Assert.Equal((144 - 84.5f - 52) * 2, d.Box.Y, 2);
        Assert.Equal(540, d.Box.Width, 2);
        Assert.Equal(338, d.Box.Height, 2);
        // below the threshold: nothing
        Assert.Empty(YoloDecoder.Select(decoded[0], lb, ClassNames.Numbered(80), 0.99f, 0.45f));
    }

    [Fact]
    public void A_frame_full_of_boxes_keeps_the_highest_scoring_MaxDetections()
    {
        // 5,000 rows above the threshold, small boxes on a grid (no two overlap, so NMS removes none): what is kept must
        // be exactly the MaxDetections best scores, whatever the cap on the way to NMS dropped.
        using var scope = torch.NewDisposeScope();
        const int rows = 5000, classes = 80;
        var data = new float[rows * (5 + classes)];
        var rng = new Random(3);
        var scores = Enumerable.Range(0, rows).Select(_ => 0.5f + 0.49f * rng.NextSingle()).ToArray();
        for (int r = 0; r < rows; r++)
        {
            var row = data.AsSpan(r * (5 + classes), 5 + classes);
            row[0] = (r % 100 + 0.5f) / 100; row[1] = (r / 100 + 0.5f) / 50; row[2] = 0.004f; row[3] = 0.008f;
            row[4] = scores[r];                                               // objectness, as YOLO's rows have it
            row[5 + r % classes] = scores[r];                                 // objectness × class probability
        }
        var decoded = torch.tensor(data).view(rows, 5 + classes);
        var lb = Letterbox.Compute(416, 416, 416, 416);
        var names = ClassNames.Numbered(classes);

        var all = YoloDecoder.Select(decoded, lb, names, 0.5f, 0.45f, maxDetections: rows);
        Assert.Equal(rows, all.Count);                                        // the grid really has no overlaps
        var capped = YoloDecoder.Select(decoded, lb, names, 0.5f, 0.45f, maxDetections: YoloOptions.Default.MaxDetections);
        Assert.Equal(300, capped.Count);
        Assert.Equal(scores.OrderDescending().Take(300), capped.Select(d => d.Score));
        var few = YoloDecoder.Select(decoded, lb, names, 0.5f, 0.45f, maxDetections: 20); // the pre-NMS cap (200 rows) bites here
        Assert.Equal(scores.OrderDescending().Take(20), few.Select(d => d.Score));
        Assert.Throws<ArgumentException>(() => new YoloOptions(MaxDetections: 0).Validate());
    }

    [Fact]
    public void Annotation_returns_a_new_image_and_never_touches_the_input()
    {
        using var img = new Mat(200, 300, MatType.CV_8UC3, new Scalar(40, 40, 40));
        using var before = img.Clone();
        var dets = new[] { new Detection(16, "dog", 0.9f, new Box(20, 30, 100, 80)), new Detection(1, "bicycle", 0.6f, new Box(150, 0, 100, 100)) };
        using var drawn = Annotator.Draw(img, dets);
        Assert.Equal(0, Cv2.Norm(img, before, NormTypes.INF));
        Assert.NotEqual(img.Data, drawn.Data);
        Assert.True(Cv2.Norm(img, drawn, NormTypes.L1) > 0);
        var dogColor = Annotator.ClassColor(16, 80);
        var edge = drawn.At<Vec3b>(30 + 40, 20); // left edge of the dog box
        Assert.Equal(((byte)dogColor.Val0, (byte)dogColor.Val1, (byte)dogColor.Val2), (edge.Item0, edge.Item1, edge.Item2));
        Assert.Equal(dogColor, Annotator.ClassColor(16, 80)); // stable
        Assert.NotEqual(Annotator.ClassColor(16, 80), Annotator.ClassColor(17, 80));
        // inside the box, away from the tag, pixels are untouched
        Assert.Equal(new Vec3b(40, 40, 40), drawn.At<Vec3b>(90, 80));
    }
}
