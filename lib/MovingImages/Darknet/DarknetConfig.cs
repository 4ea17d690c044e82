using System.Globalization;

namespace MovingImages.Darknet;

/// <summary>
/// A parsed darknet network definition (<c>.cfg</c>): the <c>[net]</c> options and the layers in order.
/// Parsing checks every key it uses and every layer reference; errors name the file, line and key.
/// </summary>
public sealed class DarknetConfig
{
    DarknetConfig(string source, NetOptions net, IReadOnlyList<DarknetLayer> layers, IReadOnlyList<string> warnings)
    {
        Source = source;
        Net = net;
        Layers = layers;
        Warnings = warnings;
    }

    /// <summary>Where the text came from (a path, or a name given to <see cref="Parse(string, string)"/>).</summary>
    public string Source { get; }
    /// <summary>The <c>[net]</c> section.</summary>
    public NetOptions Net { get; }
    /// <summary>The layers, indexed as darknet indexes them.</summary>
    public IReadOnlyList<DarknetLayer> Layers { get; }
    /// <summary>Keys the parser did not use (darknet ignores them too), one line each.</summary>
    public IReadOnlyList<string> Warnings { get; }

    static readonly HashSet<string> Warned = new(StringComparer.Ordinal);

    /// <summary>
    /// Writes each of <see cref="Warnings"/> ("file:line: [section] key 'k' is not used", as darknet's "Unused field")
    /// to <paramref name="writer"/>, once per process: loading the same config again stays quiet.
    /// </summary>
    public void WarnOnce(TextWriter writer)
    {
        foreach (var warning in Warnings)
        {
            lock (Warned)
                if (!Warned.Add(warning)) continue;
            writer.WriteLine($"warning: {warning}");
        }
    }

    /// <summary>The convolutional layers in file order: the order their weights are stored in a <c>.weights</c> file.</summary>
    public IReadOnlyList<ConvolutionalLayer> ConvolutionalLayers => Layers.OfType<ConvolutionalLayer>().ToArray();
    /// <summary>The detection heads in file order.</summary>
    public IReadOnlyList<YoloLayer> YoloLayers => Layers.OfType<YoloLayer>().ToArray();
    /// <summary>Number of classes the heads predict (all heads must agree).</summary>
    public int Classes => YoloLayers.Count == 0 ? 0 : YoloLayers[0].Classes;

    /// <summary>Reads and parses a <c>.cfg</c> file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DarknetConfigException">The file is not a usable darknet config.</exception>
    public static DarknetConfig Load(string path)
    {
        if (!System.IO.File.Exists(path)) throw new FileNotFoundException($"Darknet config not found: {path}", path);
        return Parse(System.IO.File.ReadAllText(path), path);
    }

    /// <summary>Parses <c>.cfg</c> text; <paramref name="source"/> names it in error messages.</summary>
    public static DarknetConfig Parse(string text, string source)
    {
        var sections = ReadSections(text, source);
        if (sections.Count == 0) throw new DarknetConfigException(source, 0, null, null, "no sections found; expected [net] followed by layers");
        var first = sections[0];
        if (first.Name is not ("net" or "network"))
            throw new DarknetConfigException(source, first.Line, first.Name, null, "the first section must be [net]");
        var warnings = new List<string>();
        var net = ParseNet(first);
        var layers = new List<DarknetLayer>();
        for (int s = 1; s < sections.Count; s++)
        {
            var sec = sections[s];
            int index = layers.Count;
            DarknetLayer layer = sec.Name switch
            {
                "convolutional" or "conv" => ParseConvolutional(sec, index),
                "shortcut" => new ShortcutLayer(index, sec.Line, sec.LayerRef("from", index), sec.Activation(Activation.Linear)),
                "route" => ParseRoute(sec, index),
                "upsample" => new UpsampleLayer(index, sec.Line, sec.Int("stride", 2, min: 1)),
                "maxpool" => ParseMaxPool(sec, index),
                "yolo" => ParseYolo(sec, index),
                "net" or "network" => throw new DarknetConfigException(source, sec.Line, sec.Name, null, "[net] may appear only once, as the first section"),
                _ => throw new DarknetConfigException(source, sec.Line, sec.Name, null,
                    "unknown section; supported: [net], [convolutional], [shortcut], [route], [upsample], [maxpool], [yolo]"),
            };
            foreach (var unused in sec.Unused()) warnings.Add($"{source}:{unused.Line}: [{sec.Name}] key '{unused.Key}' is not used");
            layers.Add(layer);
        }
        foreach (var unused in first.Unused().Where(u => !NetTrainingKeys.Contains(u.Key)))
            warnings.Add($"{source}:{unused.Line}: [net] key '{unused.Key}' is not used");
        var config = new DarknetConfig(source, net, layers, warnings);
        config.CheckHeads();
        config.OutputShapes(net.Width, net.Height); // checks that every route and shortcut fits together
        return config;
    }

    /// <summary>
    /// Computes every layer's output shape for an input of <paramref name="width"/> × <paramref name="height"/>,
    /// checking that routes concatenate equal sizes and shortcuts add equal shapes.
    /// </summary>
    /// <exception cref="DarknetConfigException">The layers do not fit together at this size.</exception>
    public IReadOnlyList<LayerShape> OutputShapes(int width, int height)
    {
        if (width <= 0 || height <= 0) throw new ArgumentOutOfRangeException(nameof(width), $"input size must be positive, got {width}×{height}");
        var shapes = new LayerShape[Layers.Count];
        var input = new LayerShape(Net.Channels, height, width);
        for (int i = 0; i < Layers.Count; i++)
        {
            var previous = i == 0 ? input : shapes[i - 1];
            var layer = Layers[i];
            shapes[i] = layer switch
            {
                ConvolutionalLayer c => ConvShape(c, previous),
                ShortcutLayer s => shapes[s.From] == previous ? previous
                    : throw Error(s, "from", $"adds layer {s.From} ({shapes[s.From]}) to layer {i - 1} ({previous}); the shapes differ"),
                RouteLayer r => RouteShape(r, shapes),
                UpsampleLayer u => previous with { Height = previous.Height * u.Stride, Width = previous.Width * u.Stride },
                MaxPoolLayer m => previous with
                {
                    Height = (previous.Height + m.Padding - m.Size) / m.Stride + 1,
                    Width = (previous.Width + m.Padding - m.Size) / m.Stride + 1,
                },
                YoloLayer y => previous.Channels == y.Mask.Count * y.ValuesPerAnchor ? previous
                    : throw Error(y, null, $"its input (layer {i - 1}) has {previous.Channels} channels; {y.Mask.Count} anchors × (5 + {y.Classes} classes) = {y.Mask.Count * y.ValuesPerAnchor} expected"),
                _ => throw new InvalidOperationException($"unhandled layer {layer}"),
            };
            if (shapes[i].Height <= 0 || shapes[i].Width <= 0)
                throw Error(layer, null, $"input {width}×{height} is too small: this layer's output would be {shapes[i]}");
        }
        return shapes;

        LayerShape ConvShape(ConvolutionalLayer c, LayerShape p) => new(c.Filters,
            (p.Height + 2 * c.Padding - c.Size) / c.Stride + 1,
            (p.Width + 2 * c.Padding - c.Size) / c.Stride + 1);

        LayerShape RouteShape(RouteLayer r, LayerShape[] s)
        {
            var firstShape = s[r.Layers[0]];
            int channels = 0;
            foreach (var l in r.Layers)
            {
                if (s[l].Height != firstShape.Height || s[l].Width != firstShape.Width)
                    throw Error(r, "layers", $"layer {l} is {s[l]} but layer {r.Layers[0]} is {firstShape}; routed layers must have the same height and width (is the input size a multiple of 32?)");
                channels += s[l].Channels;
            }
            return new LayerShape(channels, firstShape.Height, firstShape.Width);
        }
    }

    /// <summary>The number of input channels of each convolutional layer (in <see cref="ConvolutionalLayers"/> order).</summary>
    public IReadOnlyList<int> ConvolutionInputChannels()
    {
        var shapes = OutputShapes(Net.Width, Net.Height);
        return ConvolutionalLayers.Select(c => c.Index == 0 ? Net.Channels : shapes[c.Index - 1].Channels).ToArray();
    }

    DarknetConfigException Error(DarknetLayer layer, string? key, string problem) => new(Source, layer.Line, layer.Kind, key, problem);

    void CheckHeads()
    {
        var heads = YoloLayers;
        foreach (var h in heads)
        {
            if (h.Classes != heads[0].Classes)
                throw Error(h, "classes", $"{h.Classes} differs from the first [yolo] section's {heads[0].Classes}");
        }
    }

    // ---------------------------------------------------------------- sections

    static readonly HashSet<string> NetTrainingKeys = new(StringComparer.Ordinal)
    {
        "batch", "subdivisions", "momentum", "decay", "angle", "saturation", "exposure", "hue", "learning_rate",
        "burn_in", "max_batches", "policy", "steps", "scales", "mosaic", "letter_box", "flip", "max_crop", "min_crop",
    };

    static NetOptions ParseNet(Section s)
    {
        int width = s.Int("width", null, min: 1);
        int height = s.Int("height", null, min: 1);
        int channels = s.Int("channels", 3, min: 1);
        return new NetOptions(width, height, channels, s.All());
    }

    static ConvolutionalLayer ParseConvolutional(Section s, int index)
    {
        int filters = s.Int("filters", null, min: 1);
        int size = s.Int("size", null, min: 1);
        int stride = s.Int("stride", 1, min: 1);
        bool pad = s.Int("pad", 0, min: 0) != 0;
        int padding = pad ? size / 2 : s.Int("padding", 0, min: 0);
        bool bn = s.Int("batch_normalize", 0, min: 0) != 0;
        int groups = s.Int("groups", 1, min: 1);
        if (groups != 1) throw s.Error("groups", $"grouped convolutions (groups={groups}) are not supported");
        return new ConvolutionalLayer(index, s.Line, filters, size, stride, padding, bn, s.Activation(Activation.Logistic));
    }

    static RouteLayer ParseRoute(Section s, int index)
    {
        var parts = s.List("layers");
        if (parts.Count is < 1 or > 4) throw s.Error("layers", $"expected 1 to 4 layer indices, got {parts.Count}");
        if (s.Has("groups")) throw s.Error("groups", "route groups (yolov4-tiny) are not supported");
        var layers = parts.Select(p => s.ResolveRef("layers", s.ParseInt("layers", p), index)).ToArray();
        return new RouteLayer(index, s.Line, layers);
    }

    static MaxPoolLayer ParseMaxPool(Section s, int index)
    {
        int size = s.Int("size", null, min: 1);
        int stride = s.Int("stride", 1, min: 1);
        int padding = s.Int("padding", size - 1, min: 0);
        return new MaxPoolLayer(index, s.Line, size, stride, padding);
    }

    static YoloLayer ParseYolo(Section s, int index)
    {
        int classes = s.Int("classes", null, min: 1);
        var numbers = s.List("anchors").Select(a => s.ParseFloat("anchors", a)).ToArray();
        if (numbers.Length == 0 || numbers.Length % 2 != 0)
            throw s.Error("anchors", $"expected an even number of values (width,height pairs), got {numbers.Length}");
        if (numbers.Any(v => v <= 0)) throw s.Error("anchors", "anchor sizes must be positive");
        var anchors = Enumerable.Range(0, numbers.Length / 2).Select(i => (numbers[2 * i], numbers[2 * i + 1])).ToArray();
        int num = s.Int("num", anchors.Length, min: 1);
        if (num != anchors.Length) throw s.Error("num", $"num={num} but {anchors.Length} anchors are listed");
        int[] mask = s.Has("mask")
            ? s.List("mask").Select(m => s.ParseInt("mask", m)).ToArray()
            : Enumerable.Range(0, num).ToArray();
        foreach (var m in mask)
            if (m < 0 || m >= num) throw s.Error("mask", $"index {m} is outside the {num} anchors");
        foreach (var ignored in new[] { "jitter", "ignore_thresh", "truth_thresh", "random", "scale_x_y", "iou_thresh", "cls_normalizer", "iou_normalizer", "iou_loss", "nms_kind", "beta_nms", "max_delta", "counters_per_class", "label_smooth_eps" })
            s.MarkUsed(ignored); // training-only options
        return new YoloLayer(index, s.Line, mask, anchors, classes);
    }

    // ---------------------------------------------------------------- tokenising

    static List<Section> ReadSections(string text, string source)
    {
        var sections = new List<Section>();
        Section? current = null;
        var lines = text.Split('\n');
        for (int n = 0; n < lines.Length; n++)
        {
            string line = lines[n].Trim().TrimEnd('\r');
            int lineNo = n + 1;
            if (line.Length == 0 || line[0] is '#' or ';') continue;
            if (line[0] == '[')
            {
                int close = line.IndexOf(']');
                if (close < 0) throw new DarknetConfigException(source, lineNo, null, null, $"'{line}': a section header needs a closing ']'");
                string name = line[1..close].Trim().ToLowerInvariant();
                if (name.Length == 0) throw new DarknetConfigException(source, lineNo, null, null, "empty section name '[]'");
                current = new Section(source, name, lineNo);
                sections.Add(current);
                continue;
            }
            int eq = line.IndexOf('=');
            if (eq <= 0) throw new DarknetConfigException(source, lineNo, current?.Name, null, $"'{line}': expected key=value");
            string key = line[..eq].Trim();
            string value = line[(eq + 1)..].Trim();
            int comment = value.IndexOf('#');
            if (comment >= 0) value = value[..comment].Trim();
            if (current == null) throw new DarknetConfigException(source, lineNo, null, key, "appears before any [section]");
            current.Add(key, value, lineNo);
        }
        return sections;
    }

    /// <summary>One section's keys with their lines; remembers which keys were read.</summary>
    sealed class Section(string source, string name, int line)
    {
        readonly Dictionary<string, (string Value, int Line)> _values = new(StringComparer.Ordinal);
        readonly HashSet<string> _used = new(StringComparer.Ordinal);
        public string Name { get; } = name;
        public int Line { get; } = line;

        public void Add(string key, string value, int lineNo)
        {
            if (_values.ContainsKey(key)) throw new DarknetConfigException(source, lineNo, Name, key, "appears twice in this section");
            _values[key] = (value, lineNo);
        }

        public bool Has(string key) => _values.ContainsKey(key);
        public void MarkUsed(string key) => _used.Add(key);
        public IReadOnlyDictionary<string, string> All() => _values.ToDictionary(kv => kv.Key, kv => kv.Value.Value);
        public IEnumerable<(string Key, int Line)> Unused() => _values.Where(kv => !_used.Contains(kv.Key)).Select(kv => (kv.Key, kv.Value.Line));

        public DarknetConfigException Error(string key, string problem) =>
            new(source, _values.TryGetValue(key, out var v) ? v.Line : Line, Name, key, problem);

        string? Raw(string key)
        {
            if (!_values.TryGetValue(key, out var v)) return null;
            _used.Add(key);
            return v.Value;
        }

        public int Int(string key, int? fallback, int min = int.MinValue)
        {
            string? raw = Raw(key);
            if (raw == null)
                return fallback ?? throw new DarknetConfigException(source, Line, Name, key, "is missing (required)");
            int value = ParseInt(key, raw);
            if (value < min) throw Error(key, $"{value} is out of range (minimum {min})");
            return value;
        }

        public int ParseInt(string key, string raw) =>
            int.TryParse(raw.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v)
                ? v : throw Error(key, $"'{raw}' is not an integer");

        public float ParseFloat(string key, string raw) =>
            float.TryParse(raw.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out float v) && float.IsFinite(v)
                ? v : throw Error(key, $"'{raw}' is not a number");

        public IReadOnlyList<string> List(string key)
        {
            string raw = Raw(key) ?? throw new DarknetConfigException(source, Line, Name, key, "is missing (required)");
            var parts = raw.Split(',', StringSplitOptions.TrimEntries);
            if (parts.Any(p => p.Length == 0)) throw Error(key, $"'{raw}' has an empty entry");
            return parts;
        }

        /// <summary>Reads a layer reference; negative values are relative to <paramref name="index"/>.</summary>
        public int LayerRef(string key, int index)
        {
            string raw = Raw(key) ?? throw new DarknetConfigException(source, Line, Name, key, "is missing (required)");
            return ResolveRef(key, ParseInt(key, raw), index);
        }

        public int ResolveRef(string key, int value, int index)
        {
            int absolute = value < 0 ? index + value : value;
            if (absolute < 0 || absolute >= index)
                throw Error(key, $"layer {value} (absolute {absolute}) is out of range: this is layer {index}, so it may refer to layers 0..{index - 1}");
            return absolute;
        }

        public Activation Activation(Activation fallback)
        {
            string? raw = Raw("activation");
            if (raw == null) return fallback;
            return raw.ToLowerInvariant() switch
            {
                "linear" => Darknet.Activation.Linear,
                "leaky" => Darknet.Activation.Leaky,
                "relu" => Darknet.Activation.Relu,
                "logistic" => Darknet.Activation.Logistic,
                "mish" => Darknet.Activation.Mish,
                "swish" => Darknet.Activation.Swish,
                _ => throw Error("activation", $"'{raw}' is not supported; expected linear, leaky, relu, logistic, mish or swish"),
            };
        }
    }
}
