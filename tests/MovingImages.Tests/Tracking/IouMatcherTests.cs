using MovingImages.Tracking;
using MovingImages.Geometry;

namespace MovingImages.Tests.Tracking;

public class IouMatcherTests
{
    static Box RandomBox(Random rng, float extent) =>
        new((float)rng.NextDouble() * extent, (float)rng.NextDouble() * extent, 5 + (float)rng.NextDouble() * 40, 5 + (float)rng.NextDouble() * 40);

    [Fact]
    public void Groups_give_the_same_total_IoU_as_one_Hungarian_over_the_whole_gated_matrix()
    {
        var rng = new Random(11);
        for (int trial = 0; trial < 200; trial++)
        {
            float extent = rng.Next(2) == 0 ? 60 : 300; // crowded scenes (one big group) and sparse ones (many small ones)
            var dets = Enumerable.Range(0, rng.Next(0, 25)).Select(_ => RandomBox(rng, extent)).ToArray();
            var tracks = Enumerable.Range(0, rng.Next(0, 25)).Select(_ => RandomBox(rng, extent)).ToArray();
            var classes = dets.Select(_ => rng.Next(2)).ToArray();
            var trackClasses = tracks.Select(_ => rng.Next(2)).ToArray();
            const float threshold = 0.1f;
            bool Allowed(int d, int t) => classes[d] == trackClasses[t];

            var match = IouMatcher.Match(dets, tracks, threshold, Allowed);

            var cost = new double[dets.Length, tracks.Length];
            for (int d = 0; d < dets.Length; d++)
                for (int t = 0; t < tracks.Length; t++)
                {
                    double iou = dets[d].IoU(tracks[t]);
                    cost[d, t] = Allowed(d, t) && iou >= threshold ? -iou : 0;
                }
            var whole = Hungarian.Solve(cost);
            double expected = whole.Select((t, d) => t >= 0 ? -cost[d, t] : 0).Sum();
            double actual = match.TrackOf.Select((t, d) => t >= 0 ? dets[d].IoU(tracks[t]) : 0).Sum();
            Assert.Equal(expected, actual, 5); // float IoUs summed in another order
            var used = match.TrackOf.Where(t => t >= 0).ToArray();
            Assert.Equal(used.Length, used.Distinct().Count());                                                 // one to one
            for (int d = 0; d < dets.Length; d++)
                if (match.TrackOf[d] >= 0)
                {
                    Assert.True(Allowed(d, match.TrackOf[d]));
                    Assert.True(dets[d].IoU(tracks[match.TrackOf[d]]) >= threshold);                          // gated
                }
        }
    }

    [Fact]
    public void Separate_objects_are_solved_separately()
    {
        // 40 × 40 = 1600 objects, each moved a little: one Hungarian over everything would be a 1600 × 1600 problem.
        var tracks = Enumerable.Range(0, 1600).Select(i => new Box(i % 40 * 30, i / 40 * 30, 20, 20)).ToArray();
        var dets = tracks.Select(b => b with { X = b.X + 2, Y = b.Y + 1 }).Reverse().ToArray();
        var match = IouMatcher.Match(dets, tracks, 0.3f);
        Assert.Equal(2, match.LargestGroup);
        for (int d = 0; d < dets.Length; d++) Assert.Equal(1599 - d, match.TrackOf[d]);
    }

    [Fact]
    public void A_crowded_video_keeps_ids_and_small_assignment_problems()
    {
        var tracker = new SortTracker();
        IReadOnlyList<Track> shown = [];
        for (int frame = 0; frame < 8; frame++)
        {
            var dets = Enumerable.Range(0, 1000).Select(i => new Detection(i % 3, $"c{i % 3}", 0.9f,
                new Box(i % 50 * 30 + frame * 2, i / 50 * 30 + frame, 20, 20))).ToArray();
            shown = tracker.Update(dets);
            Assert.True(tracker.LargestAssignment <= 2, $"frame {frame}: {tracker.LargestAssignment}");
        }
        Assert.Equal(1000, shown.Count);
        Assert.Equal(Enumerable.Range(1, 1000), shown.Select(t => t.TrackId).Order()); // no object lost its id
    }
}
