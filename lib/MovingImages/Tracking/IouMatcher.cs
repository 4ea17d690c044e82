using MovingImages.Geometry;

namespace MovingImages.Tracking;

/// <summary>The result of <see cref="IouMatcher.Match"/>.</summary>
/// <param name="TrackOf">Per detection, the index of its track, or −1.</param>
/// <param name="LargestGroup">Detections + tracks in the largest group solved by the Hungarian algorithm (0 when none).</param>
public sealed record IouMatch(int[] TrackOf, int LargestGroup);

/// <summary>
/// Gated one-to-one matching of detections to tracks by IoU, as SORT does it, but in pieces: only pairs with
/// IoU ≥ the threshold may match (SORT drops the others after its assignment anyway); those pairs split detections and
/// tracks into independent groups (connected components), and each group is solved by the Hungarian algorithm on its
/// own. The total IoU is the same as one Hungarian over the whole gated matrix, and the cost is Σ group³ instead of
/// (detections + tracks)³: a crowded frame costs about as much per box as a quiet one.
/// </summary>
public static class IouMatcher
{
    /// <summary>
    /// Matches <paramref name="detections"/> to <paramref name="tracks"/>, maximising the total IoU over pairs with
    /// IoU ≥ <paramref name="iouThreshold"/> that <paramref name="allowed"/> accepts (all, when null).
    /// </summary>
    public static IouMatch Match(IReadOnlyList<Box> detections, IReadOnlyList<Box> tracks, float iouThreshold, Func<int, int, bool>? allowed = null)
    {
        int nd = detections.Count, nt = tracks.Count;
        var result = new int[nd];
        Array.Fill(result, -1);
        if (nd == 0 || nt == 0) return new IouMatch(result, 0);

        // Sweep: tracks sorted by left edge; only those starting left of a detection's right edge can overlap it.
        var byLeft = Enumerable.Range(0, nt).OrderBy(t => tracks[t].X).ToArray();
        var lefts = byLeft.Select(t => tracks[t].X).ToArray();
        var pairs = new List<(int D, int T, double IoU)>();
        var parent = Enumerable.Range(0, nd + nt).ToArray(); // union-find: detections 0..nd−1, tracks nd..nd+nt−1
        int Find(int x) { while (parent[x] != x) x = parent[x] = parent[parent[x]]; return x; }
        for (int d = 0; d < nd; d++)
        {
            var box = detections[d];
            int end = CountBelow(lefts, box.Right);
            for (int k = 0; k < end; k++)
            {
                int t = byLeft[k];
                if (tracks[t].Right <= box.X) continue;
                if (allowed is not null && !allowed(d, t)) continue;
                double iou = box.IoU(tracks[t]);
                if (!(iou >= iouThreshold) || iou <= 0) continue;
                pairs.Add((d, t, iou));
                parent[Find(d)] = Find(nd + t);
            }
        }

        int largest = 0;
        foreach (var group in pairs.GroupBy(p => Find(p.D)))
        {
            var ds = group.Select(p => p.D).Distinct().ToArray();
            var ts = group.Select(p => p.T).Distinct().ToArray();
            largest = Math.Max(largest, ds.Length + ts.Length);
            if (ds.Length == 1 && ts.Length == 1) { result[ds[0]] = ts[0]; continue; }
            var row = new Dictionary<int, int>(ds.Length);
            for (int i = 0; i < ds.Length; i++) row[ds[i]] = i;
            var col = new Dictionary<int, int>(ts.Length);
            for (int j = 0; j < ts.Length; j++) col[ts[j]] = j;
            var cost = new double[ds.Length, ts.Length]; // 0 where a pair may not match, −IoU where it may
            foreach (var p in group) cost[row[p.D], col[p.T]] = -p.IoU;
            var assignment = Hungarian.Solve(cost);
            for (int i = 0; i < ds.Length; i++)
                if (assignment[i] >= 0 && cost[i, assignment[i]] < 0) result[ds[i]] = ts[assignment[i]];
        }
        return new IouMatch(result, largest);
    }

    /// <summary>How many of <paramref name="sorted"/> (ascending) are below <paramref name="value"/>.</summary>
    static int CountBelow(float[] sorted, float value)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] < value) lo = mid + 1; else hi = mid;
        }
        return lo;
    }
}
