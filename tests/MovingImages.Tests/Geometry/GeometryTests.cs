using MovingImages.Geometry;

namespace MovingImages.Tests.ObjectDetection;

public class GeometryTests
{
    [Fact]
    public void Letterbox_matches_darknet_arithmetic()
    {
        var lb = Letterbox.Compute(768, 576, 416, 416); // dog.jpg
        Assert.Equal((416, 312, 0, 52), (lb.ScaledWidth, lb.ScaledHeight, lb.OffsetX, lb.OffsetY));
        var tall = Letterbox.Compute(500, 1000, 416, 416);
        Assert.Equal((208, 416, 104, 0), (tall.ScaledWidth, tall.ScaledHeight, tall.OffsetX, tall.OffsetY));
        Assert.True(lb.IsPadding(10, 10));
        Assert.False(lb.IsPadding(10, 60));
        Assert.Throws<ArgumentException>(() => Letterbox.Compute(0, 10, 416, 416));
    }

    [Fact]
    public void Letterbox_round_trip_is_identity()
    {
        var rng = new Random(5);
        foreach (var (w, h) in new[] { (768, 576), (1920, 1080), (333, 777), (416, 416) })
        {
            var lb = Letterbox.Compute(w, h, 608, 608);
            for (int i = 0; i < 50; i++)
            {
                var box = new Box(rng.NextSingle() * w, rng.NextSingle() * h, rng.NextSingle() * w / 2, rng.NextSingle() * h / 2);
                var back = lb.ToImage(lb.ToNetwork(box));
                Assert.Equal(box.X, back.X, 1e-3f * Math.Max(w, h));
                Assert.Equal(box.Y, back.Y, 1e-3f * Math.Max(w, h));
                Assert.Equal(box.Width, back.Width, 1e-3f * Math.Max(w, h));
                Assert.Equal(box.Height, back.Height, 1e-3f * Math.Max(w, h));
            }
            // the image's corners land on the scaled area's corners
            var whole = lb.ToNetwork(new Box(0, 0, w, h));
            Assert.Equal(new Box(lb.OffsetX, lb.OffsetY, lb.ScaledWidth, lb.ScaledHeight), whole);
        }
    }

    [Fact]
    public void IoU_of_known_boxes()
    {
        var a = new Box(0, 0, 10, 10);
        Assert.Equal(1f, a.IoU(a));
        Assert.Equal(0f, a.IoU(new Box(10, 0, 5, 5)));
        Assert.Equal(25f / 175f, a.IoU(new Box(5, 5, 10, 10)), 5);
        Assert.Equal(0f, a.IoU(new Box(3, 3, 0, 0)));
        Assert.Equal(new Box(0, 2, 5, 8), new Box(-3, 2, 8, 20).ClipTo(5, 10));
    }

    [Fact]
    public void Nms_agrees_with_the_definition_on_random_sets()
    {
        var rng = new Random(11);
        for (int trial = 0; trial < 200; trial++)
        {
            int n = rng.Next(0, 40);
            var dets = Enumerable.Range(0, n).Select(i => new Detection(rng.Next(3), "", MathF.Round(rng.NextSingle(), 2),
                new Box(rng.Next(0, 100), rng.Next(0, 100), rng.Next(5, 60), rng.Next(5, 60)))).ToList();
            float thr = 0.2f + 0.6f * rng.NextSingle();
            var kept = Nms.PerClass(dets, thr);
            var expected = BruteForce(dets, thr);
            Assert.True(expected.SetEquals(kept), $"trial {trial}: NMS kept {kept.Count}, the definition keeps {expected.Count}");
            // sorted by score
            for (int i = 1; i < kept.Count; i++) Assert.True(kept[i - 1].Score >= kept[i].Score);
        }
    }

    [Fact]
    public void Nms_with_a_limit_returns_exactly_the_first_boxes_of_the_unlimited_result()
    {
        var rng = new Random(12);
        for (int trial = 0; trial < 200; trial++)
        {
            var dets = Enumerable.Range(0, rng.Next(0, 80)).Select(i => new Detection(rng.Next(3), "", MathF.Round(rng.NextSingle(), 2),
                new Box(rng.Next(-20, 100), rng.Next(0, 100), rng.Next(5, 60), rng.Next(5, 60)))).ToList();
            float thr = 0.2f + 0.6f * rng.NextSingle();
            int limit = rng.Next(1, 20);
            bool Counts(Detection d) => d.Box.X >= 0;                     // e.g. only boxes that stay visible count
            var all = Nms.PerClass(dets, thr);
            var limited = Nms.PerClass(dets, thr, limit, Counts);
            Assert.Equal(all.Take(limited.Count), limited);                 // a prefix, in the same order
            int counted = limited.Count(Counts);
            Assert.True(counted == limit || limited.Count == all.Count, $"trial {trial}: stopped early at {counted} of {limit}");
            Assert.Equal(all.Where(Counts).Take(limit), limited.Where(Counts));
        }
    }

    /// <summary>
    /// The definition, checked exhaustively: a detection is kept iff no <em>kept</em> detection of its class that
    /// ranks before it (higher score, or equal score and earlier) overlaps it by more than the threshold.
    /// Evaluated by fixed-point iteration over all pairs rather than one greedy pass.
    /// </summary>
    static HashSet<object> BruteForce(List<Detection> dets, float thr)
    {
        bool Before(int i, int j) => dets[i].Score > dets[j].Score || (dets[i].Score == dets[j].Score && i < j);
        var keep = new bool[dets.Count];
        Array.Fill(keep, true);
        bool changed = true;
        while (changed)
        {
            changed = false;
            for (int j = 0; j < dets.Count; j++)
            {
                bool shouldKeep = true;
                for (int i = 0; i < dets.Count; i++)
                {
                    if (i == j || dets[i].ClassId != dets[j].ClassId || !Before(i, j) || !keep[i]) continue;
                    if (dets[i].Box.IoU(dets[j].Box) > thr) { shouldKeep = false; break; }
                }
                if (shouldKeep != keep[j]) { keep[j] = shouldKeep; changed = true; }
            }
        }
        return new HashSet<object>(dets.Where((_, i) => keep[i]), ReferenceEqualityComparer.Instance);
    }
}
