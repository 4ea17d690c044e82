using System.Globalization;
using Microsoft.CodeAnalysis.CSharp;

namespace MovingImages.Notebooks;

/// <summary>
/// Papermill's parameters for C#: <c>-p name=value</c> overrides a variable of the cell tagged <c>parameters</c>; the
/// value is written as a C# literal of the type that cell gave the variable.
/// </summary>
public static class NotebookParameters
{
    /// <summary>Parses <c>name=value</c> strings.</summary>
    public static IReadOnlyDictionary<string, string> Parse(IEnumerable<string> pairs)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in pairs)
        {
            int eq = p.IndexOf('=');
            if (eq <= 0) throw new ArgumentException($"-p {p}: expected name=value");
            values[p[..eq].Trim()] = p[(eq + 1)..];
        }
        return values;
    }

    /// <summary>
    /// The variables the parameters cell declares and their types, read from its source without running it (as
    /// papermill does): <c>var x = literal;</c> takes the literal's type, <c>T x = …;</c> the named one.
    /// </summary>
    public static IReadOnlyDictionary<string, Type> Declared(string parametersCell)
    {
        var tree = CSharpSyntaxTree.ParseText(parametersCell, new CSharpParseOptions(kind: Microsoft.CodeAnalysis.SourceCodeKind.Script));
        var declared = new Dictionary<string, Type>(StringComparer.Ordinal);
        foreach (var field in tree.GetRoot().DescendantNodes().OfType<Microsoft.CodeAnalysis.CSharp.Syntax.VariableDeclarationSyntax>())
        {
            foreach (var variable in field.Variables)
            {
                Type? type = field.Type.IsVar ? LiteralType(variable.Initializer?.Value) : Named(field.Type.ToString());
                if (type is { IsValueType: true } && !field.Type.IsVar && field.Type.ToString().EndsWith('?'))
                    type = typeof(Nullable<>).MakeGenericType(type);
                if (type != null) declared[variable.Identifier.ValueText] = type;
            }
        }
        return declared;

        static Type? LiteralType(Microsoft.CodeAnalysis.CSharp.Syntax.ExpressionSyntax? value) => value switch
        {
            Microsoft.CodeAnalysis.CSharp.Syntax.LiteralExpressionSyntax literal => literal.Token.Value?.GetType(),
            Microsoft.CodeAnalysis.CSharp.Syntax.PrefixUnaryExpressionSyntax { Operand: var operand } => LiteralType(operand),
            Microsoft.CodeAnalysis.CSharp.Syntax.ParenthesizedExpressionSyntax { Expression: var inner } => LiteralType(inner),
            _ => null,
        };

        static Type? Named(string name) => name.TrimEnd('?') switch
        {
            "string" or "String" => typeof(string),
            "int" or "Int32" => typeof(int),
            "long" or "Int64" => typeof(long),
            "float" or "Single" => typeof(float),
            "double" or "Double" => typeof(double),
            "bool" or "Boolean" => typeof(bool),
            _ => null,
        };
    }

    /// <summary>
    /// The injected cell's code: one assignment per value, typed by <paramref name="declared"/> (the parameters cell's
    /// variables and their types). An unknown name is an error that lists the parameters.
    /// </summary>
    public static string Injection(IReadOnlyDictionary<string, Type> declared, IReadOnlyDictionary<string, string> values)
    {
        var lines = new List<string> { "// Parameters injected by movingimages notebook run (-p)" };
        foreach (var (name, raw) in values)
        {
            if (!declared.TryGetValue(name, out var type))
                throw new ArgumentException($"-p {name}: the parameters cell declares no '{name}'; its parameters are {string.Join(", ", declared.Keys.Order(StringComparer.Ordinal))}");
            lines.Add($"{name} = {Literal(type, raw, name)};");
        }
        return string.Join('\n', lines) + "\n";
    }

    /// <summary><paramref name="raw"/> as a C# literal of <paramref name="type"/>, or an error naming the parameter.</summary>
    public static string Literal(Type type, string raw, string name)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (Nullable.GetUnderlyingType(type) != null && raw is "null" or "") return "null";
        var c = CultureInfo.InvariantCulture;
        string Bad() => throw new ArgumentException($"-p {name}={raw}: not a valid {t.Name}");
        return t switch
        {
            _ when t == typeof(string) => SymbolDisplay.FormatLiteral(raw, quote: true),
            _ when t == typeof(int) => int.TryParse(raw, NumberStyles.Integer, c, out var v) ? v.ToString(c) : Bad(),
            _ when t == typeof(long) => long.TryParse(raw, NumberStyles.Integer, c, out var v) ? v.ToString(c) + "L" : Bad(),
            _ when t == typeof(float) => float.TryParse(raw, NumberStyles.Float, c, out var v) && float.IsFinite(v) ? v.ToString("R", c) + "f" : Bad(),
            _ when t == typeof(double) => double.TryParse(raw, NumberStyles.Float, c, out var v) && double.IsFinite(v) ? v.ToString("R", c) + "d" : Bad(),
            _ when t == typeof(bool) => bool.TryParse(raw, out var v) ? (v ? "true" : "false") : Bad(),
            _ => throw new ArgumentException($"-p {name}: parameters of type {type.Name} cannot be set from the command line (string, int, long, float, double, bool)"),
        };
    }
}
