using MovingImages.Darknet;
using MovingImages.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using MovingImages.Geometry;

namespace MovingImages.ObjectDetection;

/// <summary>
/// Turns raw YOLO head outputs into detections as darknet does: sigmoid x/y + cell offset, exp w/h × anchors,
/// logistic objectness and class scores, score = objectness × class probability, threshold, per-class NMS,
/// boxes mapped back through the letterbox to image pixels.
/// </summary>
public static class YoloDecoder
{
    /// <summary>
    /// Decodes every head into one N×B×(5+C) tensor per batch: centre x, centre y, width, height (fractions of the
    /// network input), objectness, then objectness × class probability for each class. Box order is darknet's
    /// (head, anchor, row, column).
    /// </summary>
    public static Tensor Decode(IReadOnlyList<Tensor> heads, IReadOnlyList<YoloLayer> layers, int netWidth, int netHeight)
    {
        if (heads.Count != layers.Count) throw new ArgumentException($"{heads.Count} head outputs for {layers.Count} [yolo] layers");
        using var scope = torch.NewDisposeScope();
        var parts = new List<Tensor>();
        for (int i = 0; i < heads.Count; i++)
        {
            var raw = heads[i];
            var layer = layers[i];
            long batch = raw.shape[0], h = raw.shape[2], w = raw.shape[3];
            int a = layer.Mask.Count, v = layer.ValuesPerAnchor;
            if (raw.shape[1] != a * v) throw new ArgumentException($"head {i} has {raw.shape[1]} channels, {a * v} expected");
            var p = raw.view(batch, a, v, h, w).permute(0, 1, 3, 4, 2); // B, A, H, W, V
            var device = raw.device;
            var gx = Scalars.Arange(w, ScalarType.Float32, device).view(1, 1, 1, w);
            var gy = Scalars.Arange(h, ScalarType.Float32, device).view(1, 1, h, 1);
            var anchors = layer.Anchors;
            var aw = torch.tensor(anchors.Select(x => x.Width / netWidth).ToArray(), device: device).view(1, a, 1, 1);
            var ah = torch.tensor(anchors.Select(x => x.Height / netHeight).ToArray(), device: device).view(1, a, 1, 1);
            var cx = Scalars.Div(Scalars.Sum(p[.., .., .., .., 0].sigmoid(), gx), w);
            var cy = Scalars.Div(Scalars.Sum(p[.., .., .., .., 1].sigmoid(), gy), h);
            var bw = p[.., .., .., .., 2].exp() * aw;
            var bh = p[.., .., .., .., 3].exp() * ah;
            var obj = p[.., .., .., .., 4].sigmoid();
            var cls = p[.., .., .., .., 5..].sigmoid() * obj.unsqueeze(-1);
            var decoded = torch.cat([cx.unsqueeze(-1), cy.unsqueeze(-1), bw.unsqueeze(-1), bh.unsqueeze(-1), obj.unsqueeze(-1), cls], -1);
            parts.Add(decoded.reshape(batch, -1, v));
        }
        return torch.cat(parts.ToArray(), 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Picks the detections of one image from its decoded rows (B×(5+C), see <see cref="Decode"/>): objectness and
    /// score above <paramref name="confidence"/>, per-class NMS at <paramref name="nmsIou"/>, boxes in image pixels
    /// (clipped to the image; boxes wholly outside it are dropped), at most <paramref name="maxDetections"/> of them —
    /// the highest scores. The work is bounded too: at most <see cref="YoloOptions.PreNmsFactor"/> ×
    /// <paramref name="maxDetections"/> rows (highest objectness) and as many candidates (highest score) reach NMS.
    /// </summary>
    public static IReadOnlyList<Detection> Select(Tensor decoded, Letterbox letterbox, ClassNames names, float confidence, float nmsIou,
        int maxDetections = 300)
    {
        if (maxDetections < 1) throw new ArgumentOutOfRangeException(nameof(maxDetections), maxDetections, "must be at least 1");
        using var scope = torch.NewDisposeScope();
        int preNms = checked(maxDetections * YoloOptions.PreNmsFactor);
        var keep = Scalars.Greater(decoded[.., 4], confidence).nonzero().squeeze(1);
        if (keep.shape[0] == 0) return [];
        if (keep.shape[0] > preNms)
            keep = keep.index_select(0, decoded[.., 4].index_select(0, keep).topk(preNms).indexes);
        var rows = decoded.index_select(0, keep).to(torch.CPU).contiguous();
        int n = (int)rows.shape[0], v = (int)rows.shape[1];
        var data = rows.data<float>().ToArray();
        var candidates = new List<Detection>();
        for (int r = 0; r < n; r++)
        {
            var row = data.AsSpan(r * v, v);
            Box? box = null;
            for (int c = 0; c < v - 5; c++)
            {
                float score = row[5 + c];
                if (score <= confidence) continue;
                box ??= letterbox.ToImage(Box.FromCenter(row[0] * letterbox.NetWidth, row[1] * letterbox.NetHeight,
                    row[2] * letterbox.NetWidth, row[3] * letterbox.NetHeight));
                candidates.Add(new Detection(c, names[c], score, box.Value));
            }
        }
        if (candidates.Count > preNms)
            candidates = candidates.Select((d, i) => (d, i)).OrderByDescending(x => x.d.Score).ThenBy(x => x.i).Take(preNms).Select(x => x.d).ToList();
        // Boxes are suppressed as darknet does (unclipped), then clipped to the image; a box wholly outside the
        // image (it can happen for cells in the letterbox padding) has nothing left to show and is dropped.
        // NMS stops once maxDetections boxes that survive clipping are kept (the rest could not be shown anyway).
        bool Visible(Detection d) => d.Box.ClipTo(letterbox.ImageWidth, letterbox.ImageHeight).Area > 0;
        return Nms.PerClass(candidates, nmsIou, maxDetections, Visible)
            .Select(d => d with { Box = d.Box.ClipTo(letterbox.ImageWidth, letterbox.ImageHeight) })
            .Where(d => d.Box.Area > 0)
            .Take(maxDetections)
            .ToArray();
    }
}
